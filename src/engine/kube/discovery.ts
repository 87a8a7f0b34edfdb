/**
 * What the API server serves, from legacy discovery (/api, /apis,
 * /apis/GROUP/VERSION): each group's preferred version, subresources left
 * out. Kept until refreshed; other served versions are fetched on demand.
 */
import type { ApiResource, RequestOptions } from './types';
import { KubeApiError } from './types';
import type { Transport } from './transport';

interface ApiResourceList {
  groupVersion: string;
  resources: { name: string; namespaced: boolean; kind: string; verbs?: string[]; shortNames?: string[] }[];
}

interface ApiGroupList {
  groups: { name: string; versions: { groupVersion: string; version: string }[]; preferredVersion?: { version: string } }[];
}

interface Snapshot {
  preferred: ApiResource[];
  /** group → every served version, preferred first. */
  versions: Map<string, string[]>;
  /** Group versions some discovery endpoint could not answer for (an aggregated API that is down). */
  unavailable: string[];
}

export class Discovery {
  private snapshot?: Promise<Snapshot>;
  private readonly byGroupVersion = new Map<string, Promise<ApiResource[]>>();

  constructor(private readonly transport: Transport) {}

  async resources(options: { refresh?: boolean } & RequestOptions = {}): Promise<ApiResource[]> {
    return (await this.load(options)).preferred;
  }

  /** Group versions that failed discovery last time (served by an unavailable aggregated API). */
  async unavailable(options: RequestOptions = {}): Promise<string[]> {
    return (await this.load(options)).unavailable;
  }

  async resourceFor(apiVersion: string, kind: string, options: RequestOptions = {}): Promise<ApiResource | undefined> {
    const slash = apiVersion.lastIndexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    const snap = await this.load(options);
    const hit = snap.preferred.find((r) => r.group === group && r.version === version && r.kind === kind);
    if (hit) return hit;
    if (!snap.versions.get(group)?.includes(version)) return undefined;
    const served = await this.groupVersion(group, version, options);
    return served.find((r) => r.kind === kind);
  }

  private load(options: { refresh?: boolean } & RequestOptions): Promise<Snapshot> {
    if (options.refresh || !this.snapshot) {
      this.byGroupVersion.clear();
      const loading = this.fetch(options);
      this.snapshot = loading;
      // A failed discovery is not cached: the next call tries again.
      loading.catch(() => {
        if (this.snapshot === loading) this.snapshot = undefined;
      });
    }
    return this.snapshot;
  }

  private async fetch(options: RequestOptions): Promise<Snapshot> {
    const [core, groups] = await Promise.all([
      this.get<{ versions: string[] }>('/api', options),
      this.get<ApiGroupList>('/apis', options),
    ]);
    const versions = new Map<string, string[]>();
    const wanted: { group: string; version: string }[] = [];
    const coreVersion = core.versions.includes('v1') ? 'v1' : core.versions[0];
    versions.set('', [coreVersion, ...core.versions.filter((v) => v !== coreVersion)]);
    wanted.push({ group: '', version: coreVersion });
    for (const g of groups.groups ?? []) {
      const preferred = g.preferredVersion?.version ?? g.versions[0]?.version;
      if (!preferred) continue;
      versions.set(g.name, [preferred, ...g.versions.map((v) => v.version).filter((v) => v !== preferred)]);
      wanted.push({ group: g.name, version: preferred });
    }
    const unavailable: string[] = [];
    const lists = await Promise.all(
      wanted.map(async ({ group, version }) => {
        try {
          return await this.groupVersion(group, version, options);
        } catch (err) {
          // kubectl too carries on when one aggregated API is down; the rest of the cluster is still usable.
          if (err instanceof KubeApiError && (err.status === 503 || err.status === 404 || err.status >= 500)) {
            unavailable.push(group ? `${group}/${version}` : version);
            return [];
          }
          throw err;
        }
      }),
    );
    return { preferred: lists.flat(), versions, unavailable };
  }

  private groupVersion(group: string, version: string, options: RequestOptions): Promise<ApiResource[]> {
    const key = `${group}/${version}`;
    let cached = this.byGroupVersion.get(key);
    if (!cached) {
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      cached = this.get<ApiResourceList>(path, options).then((list) =>
        (list.resources ?? [])
          .filter((r) => !r.name.includes('/'))
          .map((r) => ({
            group,
            version,
            resource: r.name,
            kind: r.kind,
            namespaced: r.namespaced,
            verbs: r.verbs ?? [],
            ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
          })),
      );
      this.byGroupVersion.set(key, cached);
      cached.catch(() => this.byGroupVersion.delete(key));
    }
    return cached;
  }

  private async get<T>(path: string, options: RequestOptions): Promise<T> {
    const reply = await this.transport.send({ method: 'GET', path, idempotent: true, target: { verb: 'discover', resource: path }, signal: options.signal });
    return JSON.parse(reply.body.toString('utf8')) as T;
  }
}
