/**
 * ServiceAccount tokens: TokenRequest (`kubectl create token`, projected
 * tokens) issues signed JWTs for system:serviceaccount:NS:NAME, the server
 * accepts them as bearer tokens while the ServiceAccount (same uid) exists
 * and the token has not expired, and legacy token Secrets
 * (kubernetes.io/service-account-token) get their token filled in, as the
 * tokens controller does.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KObject } from '../contract';
import * as errors from './errors';
import type { UserInfo } from './rbac';
import type { Registry } from './registry';
import { timestamp } from './registry';
import type { StoreEvent } from './store';
import { WorkQueue } from './workqueue';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export class TokenIssuer {
  private readonly key = randomBytes(32);
  readonly queue = new WorkQueue();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly registry: Registry,
    private readonly caCert: string | undefined,
  ) {
    this.unsubscribe = registry.store.subscribe((ev) => this.onEvent(ev));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private sign(claims: Record<string, unknown>): string {
    const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    return `${body}.${createHmac('sha256', this.key).update(body).digest('base64url')}`;
  }

  issue(sa: KObject, expirationSeconds: number, audiences: string[]): { token: string; expires: Date } {
    const now = Math.floor(Date.now() / 1000);
    const exp = expirationSeconds > 0 ? now + expirationSeconds : now + 100 * 365 * 86400;
    const token = this.sign({
      aud: audiences,
      exp,
      iat: now,
      iss: ISSUER,
      nbf: now,
      sub: `system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`,
      'kubernetes.io': { namespace: sa.metadata.namespace, serviceaccount: { name: sa.metadata.name, uid: sa.metadata.uid } },
    });
    return { token, expires: new Date(exp * 1000) };
  }

  /** The identity of a token this server issued, or undefined. */
  verify(token: string): UserInfo | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let claims: any;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return undefined;
    const ns = claims['kubernetes.io']?.namespace;
    const name = claims['kubernetes.io']?.serviceaccount?.name;
    const sa = this.registry.store.get('/serviceaccounts', ns, name);
    if (!sa || sa.obj.metadata.uid !== claims['kubernetes.io']?.serviceaccount?.uid) return undefined;
    return { user: `system:serviceaccount:${ns}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] };
  }

  /** POST serviceaccounts/NAME/token. */
  tokenRequest(namespace: string, name: string, body: any): KObject {
    const sa = this.registry.store.get('/serviceaccounts', namespace, name);
    if (!sa) throw errors.notFound('', 'serviceaccounts', name);
    const spec = body?.spec ?? {};
    const expirationSeconds = Number(spec.expirationSeconds ?? 3600);
    if (!Number.isFinite(expirationSeconds) || expirationSeconds < 600) {
      throw errors.invalid('authentication.k8s.io', 'TokenRequest', '', [{ field: 'spec.expirationSeconds', type: 'FieldValueInvalid', detail: `Invalid value: ${spec.expirationSeconds}: may not specify a duration less than 10 minutes` }]);
    }
    const audiences: string[] = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences : [ISSUER];
    const { token, expires } = this.issue(sa.obj, expirationSeconds, audiences);
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: timestamp() },
      spec: { audiences, expirationSeconds, boundObjectRef: spec.boundObjectRef ?? null },
      status: { token, expirationTimestamp: timestamp(expires) },
    };
  }

  private onEvent(ev: StoreEvent): void {
    if (ev.storageKey !== '/secrets' || ev.type === 'DELETED') return;
    const s = ev.object.obj;
    if (s.type !== 'kubernetes.io/service-account-token' || s.data?.token) return;
    this.queue.add(`${ev.namespace}/${ev.name}`, () => this.fillSecret(ev.namespace, ev.name));
  }

  private async fillSecret(namespace: string, name: string): Promise<void> {
    const s = this.registry.store.get('/secrets', namespace, name);
    if (!s || s.obj.data?.token) return;
    const saName = s.obj.metadata.annotations?.['kubernetes.io/service-account.name'];
    const sa = saName ? this.registry.store.get('/serviceaccounts', namespace, saName) : undefined;
    if (!sa) return;
    const { token } = this.issue(sa.obj, 0, [ISSUER]);
    const data: Record<string, string> = { namespace: Buffer.from(namespace).toString('base64'), token: Buffer.from(token).toString('base64') };
    if (this.caCert) data['ca.crt'] = Buffer.from(this.caCert).toString('base64');
    const info = this.registry.info({ group: '', resource: 'secrets' });
    await this.registry.patch(info, namespace, name, 'merge', {
      metadata: { annotations: { 'kubernetes.io/service-account.uid': sa.obj.metadata.uid } },
      data,
    }, { fieldManager: 'kube-controller-manager' });
  }
}
