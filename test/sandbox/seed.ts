import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Prng, generateDataset } from '../support/datagen';
import type { KObject, ObjectApi, ResourceKey } from './contract';
import { HostDirs } from './controllers/hostdirs';
import { R, errorCode } from './controllers/resources';
import { createPki } from './pki';

const BACKUP = 'lifeboat.dev/backup';
const GiB = 1024 ** 3;

const K = {
  ...R,
  roles: { group: 'rbac.authorization.k8s.io', resource: 'roles' },
  rolebindings: { group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
  ingresses: { group: 'networking.k8s.io', resource: 'ingresses' },
  backuppolicies: { group: 'shop.example.com', resource: 'backuppolicies' },
} satisfies Record<string, ResourceKey>;

async function put(api: ObjectApi, key: ResourceKey, obj: KObject): Promise<KObject> {
  try {
    return await api.create(key, obj);
  } catch (err) {
    // Seeding again (an etcd-backed sandbox restarted) keeps what is there.
    if (errorCode(err) === 409) return (await api.get(key, obj.metadata.namespace, obj.metadata.name))!;
    throw err;
  }
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function fakeSecret(rng: Prng, length: number): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(0, alphabet.length - 1)];
  return out;
}

/**
 * The sample application of the `prod` cluster: namespace `shop` (a
 * postgres StatefulSet whose volume holds real files, `api` and `web`
 * Deployments, their ConfigMaps, Secrets, Services, an Ingress, a CRD with
 * two instances, Lifeboat and Velero annotations) and namespace `billing`
 * (a Deployment with a volume). Waits until the volumes are bound and
 * filled and the workloads are ready.
 */
export async function seedCluster(api: ObjectApi, dataDir: string): Promise<void> {
  const rng = new Prng(20241122);
  const dirs = new HostDirs(dataDir);
  await put(api, K.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'app.kubernetes.io/part-of': 'shop', environment: 'production' } } });
  await put(api, K.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'billing', labels: { 'app.kubernetes.io/part-of': 'billing', environment: 'production' } } });
  const ns = 'shop';
  const common = { 'app.kubernetes.io/part-of': 'shop' };

  await put(api, K.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'api-config', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'api' } },
    data: {
      APP_ENV: 'production',
      LOG_LEVEL: 'info',
      DB_HOST: 'db-0.db.shop.svc.cluster.local',
      DB_PORT: '5432',
      'config.yml': 'server:\n  port: 8080\n  readTimeout: 15s\nfeatures:\n  recommendations: true\n  giftCards: false\ncache:\n  ttl: 300\n',
    },
  });
  await put(api, K.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'web-nginx', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'web' } },
    data: {
      'default.conf':
        'server {\n  listen 8080;\n  location / {\n    root /usr/share/nginx/html;\n    try_files $uri /index.html;\n  }\n  location /api/ {\n    proxy_pass http://api.shop.svc.cluster.local/;\n  }\n}\n',
    },
  });
  await put(api, K.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'db-tuning', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'db' } },
    data: { 'tuning.conf': 'shared_buffers = 256MB\nwork_mem = 8MB\nmax_connections = 120\nwal_level = replica\n' },
  });
  await put(api, K.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'debug-scratch', namespace: ns, labels: { ...common, 'velero.io/exclude-from-backup': 'true' } },
    data: { 'notes.txt': 'temporary profiling output; not worth keeping\n' },
  });
  const dbPassword = fakeSecret(rng, 24);
  await put(api, K.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db-credentials', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'db' } },
    type: 'Opaque',
    data: { POSTGRES_USER: b64('shop'), POSTGRES_PASSWORD: b64(dbPassword), POSTGRES_DB: b64('shop') },
  });
  await put(api, K.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'api-keys', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'api' } },
    type: 'Opaque',
    data: { PAYMENT_API_KEY: b64(`sk_test_${fakeSecret(rng, 32)}`), JWT_SIGNING_KEY: b64(fakeSecret(rng, 48)) },
  });
  const tls = createPki(['shop.example.com']);
  await put(api, K.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'shop-tls', namespace: ns, labels: common },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(tls.serverCert), 'tls.key': b64(tls.serverKey) },
  });
  await put(api, K.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: ns, labels: common } });
  await put(api, K.roles, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'api-config-reader', namespace: ns, labels: common },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
  });
  await put(api, K.rolebindings, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'api-config-reader', namespace: ns, labels: common },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'api-config-reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'api', namespace: ns }],
  });

  await put(api, K.statefulsets, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'db' }, annotations: { [BACKUP]: 'true' } },
    spec: {
      serviceName: 'db',
      replicas: 1,
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: {
          labels: { app: 'db', 'app.kubernetes.io/name': 'db', ...common },
          annotations: {
            'backup.velero.io/backup-volumes': 'data',
            'pre.hook.backup.velero.io/container': 'postgres',
            'pre.hook.backup.velero.io/command': '["/bin/sh","-c","if pg_isready -q 2>/dev/null; then psql -U shop -c CHECKPOINT; else sync; fi"]',
          },
        },
        spec: {
          containers: [
            {
              name: 'postgres',
              image: 'postgres:16.4-bookworm',
              ports: [{ name: 'postgres', containerPort: 5432 }],
              envFrom: [{ secretRef: { name: 'db-credentials' } }],
              env: [{ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }],
              resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/postgresql/data' },
                { name: 'tuning', mountPath: '/config', readOnly: true },
              ],
              readinessProbe: { exec: { command: ['pg_isready', '-U', 'shop'] }, periodSeconds: 10 },
            },
          ],
          volumes: [{ name: 'tuning', configMap: { name: 'db-tuning' } }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  });
  await put(api, K.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'db' } },
    spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'postgres', port: 5432, targetPort: 'postgres' }] },
  });
  await put(api, K.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'api' }, annotations: { [BACKUP]: 'true' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api', 'app.kubernetes.io/name': 'api', ...common } },
        spec: {
          serviceAccountName: 'api',
          containers: [
            {
              name: 'api',
              image: 'ghcr.io/example-shop/api:1.4.2',
              ports: [{ name: 'http', containerPort: 8080 }],
              envFrom: [{ configMapRef: { name: 'api-config' } }],
              env: [
                { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'POSTGRES_PASSWORD' } } },
                { name: 'PAYMENT_API_KEY', valueFrom: { secretKeyRef: { name: 'api-keys', key: 'PAYMENT_API_KEY' } } },
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
              volumeMounts: [{ name: 'config', mountPath: '/app/config', readOnly: true }],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: 'api-config', items: [{ key: 'config.yml', path: 'config.yml' }] } }],
        },
      },
    },
  });
  await put(api, K.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'api', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'api' } },
    spec: { type: 'ClusterIP', selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  await put(api, K.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', 'app.kubernetes.io/name': 'web', ...common } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx:1.27.2-alpine',
              ports: [{ name: 'http', containerPort: 8080 }],
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
              volumeMounts: [{ name: 'conf', mountPath: '/etc/nginx/conf.d', readOnly: true }],
            },
          ],
          volumes: [{ name: 'conf', configMap: { name: 'web-nginx' } }],
        },
      },
    },
  });
  await put(api, K.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: ns, labels: { ...common, 'app.kubernetes.io/name': 'web' } },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  await put(api, K.ingresses, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'shop', namespace: ns, labels: common, annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' } },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              { path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { name: 'http' } } } },
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
            ],
          },
        },
      ],
    },
  });
  await put(api, K.cronjobs, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'orders-report', namespace: ns, labels: common },
    spec: {
      schedule: '30 2 * * *',
      jobTemplate: {
        spec: {
          template: {
            spec: {
              restartPolicy: 'OnFailure',
              containers: [{ name: 'report', image: 'ghcr.io/example-shop/api:1.4.2', command: ['/app/bin/report', '--since=24h'] }],
            },
          },
        },
      },
    },
  });
  await put(api, K.crds, backupPolicyCrd());
  await putWhenServed(api, K.backuppolicies, {
    apiVersion: 'shop.example.com/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'db-nightly', namespace: ns, labels: common, annotations: { [BACKUP]: 'true' } },
    spec: { schedule: '0 1 * * *', target: { kind: 'StatefulSet', name: 'db' }, retention: { daily: 7, weekly: 4 } },
  });
  await putWhenServed(api, K.backuppolicies, {
    apiVersion: 'shop.example.com/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'uploads-hourly', namespace: ns, labels: common },
    spec: { schedule: '15 * * * *', target: { kind: 'Deployment', name: 'api' }, retention: { hourly: 24 } },
  });

  await put(api, K.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'invoicer-config', namespace: 'billing', labels: { app: 'invoicer' } },
    data: { 'invoicer.properties': 'currency=EUR\ninvoice.prefix=INV-\npdf.renderer=weasyprint\n' },
  });
  await put(api, K.pvcs, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'invoices', namespace: 'billing', labels: { app: 'invoicer' }, annotations: { [BACKUP]: 'true' } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await put(api, K.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'invoicer', namespace: 'billing', labels: { app: 'invoicer' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'invoicer' } },
      strategy: { type: 'Recreate' },
      template: {
        metadata: { labels: { app: 'invoicer' } },
        spec: {
          containers: [
            {
              name: 'invoicer',
              image: 'registry.example.com/billing/invoicer:2.0.1',
              resources: { requests: { cpu: '50m', memory: '64Mi' } },
              volumeMounts: [
                { name: 'invoices', mountPath: '/srv/invoices' },
                { name: 'config', mountPath: '/srv/config', readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'invoices', persistentVolumeClaim: { claimName: 'invoices' } },
            { name: 'config', configMap: { name: 'invoicer-config' } },
          ],
        },
      },
    },
  });

  // Volumes kept from an earlier run (etcd-backed, same data directory) are left as they are.
  const dbDir = await claimDir(api, dirs, ns, 'data-db-0');
  if (!existsSync(path.join(dbDir, 'pgdata', 'PG_VERSION'))) await fillPostgres(dbDir, new Prng(7));
  const invoiceDir = await claimDir(api, dirs, 'billing', 'invoices');
  if (!existsSync(path.join(invoiceDir, 'index.csv'))) await fillInvoices(invoiceDir, new Prng(11));
  await waitReady(api, [
    [K.statefulsets, ns, 'db'],
    [K.deployments, ns, 'api'],
    [K.deployments, ns, 'web'],
    [K.deployments, 'billing', 'invoicer'],
  ]);
}

function backupPolicyCrd(): KObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'backuppolicies.shop.example.com' },
    spec: {
      group: 'shop.example.com',
      scope: 'Namespaced',
      names: { kind: 'BackupPolicy', listKind: 'BackupPolicyList', plural: 'backuppolicies', singular: 'backuppolicy', shortNames: ['bp'] },
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          additionalPrinterColumns: [
            { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
            { name: 'Target', type: 'string', jsonPath: '.spec.target.name' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['schedule', 'target'],
                  properties: {
                    schedule: { type: 'string' },
                    target: { type: 'object', properties: { kind: { type: 'string' }, name: { type: 'string' } } },
                    retention: { type: 'object', additionalProperties: { type: 'integer' } },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** Creates a custom resource, retrying while its just-created CRD is not yet served. */
async function putWhenServed(api: ObjectApi, key: ResourceKey, obj: KObject): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await put(api, key, obj);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The host directory of a claim, once the provisioner has bound it. */
async function claimDir(api: ObjectApi, dirs: HostDirs, ns: string, claim: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pvc = await api.get(R.pvcs, ns, claim);
    if (pvc?.status?.phase === 'Bound' && pvc.spec?.volumeName) {
      const pv = await api.get(R.pvs, undefined, pvc.spec.volumeName);
      const dir = pv && dirs.ofPersistentVolume(pv);
      if (dir) {
        await mkdir(dir, { recursive: true });
        return dir;
      }
    }
    if (Date.now() > deadline) throw new Error(`seed: persistentvolumeclaim ${ns}/${claim} was not bound within ${timeoutMs / 1000}s`);
    await sleep(50);
  }
}

async function waitReady(api: ObjectApi, items: [ResourceKey, string, string][], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const [key, ns, name] of items) {
    for (;;) {
      const obj = await api.get(key, ns, name);
      const want = obj?.spec?.replicas ?? 1;
      if (obj && (obj.status?.readyReplicas ?? 0) >= want && (obj.status?.observedGeneration ?? 0) >= (obj.metadata.generation ?? 1)) break;
      if (Date.now() > deadline) throw new Error(`seed: ${key.resource} ${ns}/${name} did not become ready within ${timeoutMs / 1000}s`);
      await sleep(50);
    }
  }
}

/** Writes `size` bytes to a file in 64 KiB pieces from `piece(offset, n)`, with backpressure. */
async function writeStreamed(file: string, size: number, piece: (offset: number, n: number) => Buffer): Promise<void> {
  const out = createWriteStream(file);
  for (let off = 0; off < size; ) {
    const n = Math.min(64 * 1024, size - off);
    if (!out.write(piece(off, n))) await once(out, 'drain');
    off += n;
  }
  out.end();
  await once(out, 'finish');
}

/** A PGDATA-like tree: configs, relation files (random and page-patterned), WAL, logs, a symlink. */
async function fillPostgres(root: string, rng: Prng): Promise<void> {
  const pg = path.join(root, 'pgdata');
  const dir = async (rel: string): Promise<string> => {
    const p = path.join(pg, rel);
    await mkdir(p, { recursive: true, mode: 0o700 });
    return p;
  };
  await dir('');
  await writeFile(path.join(pg, 'PG_VERSION'), '16\n');
  await writeFile(
    path.join(pg, 'postgresql.conf'),
    "# PostgreSQL configuration file\nlisten_addresses = '*'\nmax_connections = 120\nshared_buffers = 256MB\ndynamic_shared_memory_type = posix\nmax_wal_size = 1GB\nmin_wal_size = 80MB\nlog_timezone = 'Etc/UTC'\ndatestyle = 'iso, mdy'\ntimezone = 'Etc/UTC'\ninclude_if_exists = '/config/tuning.conf'\n",
  );
  await writeFile(path.join(pg, 'pg_hba.conf'), '# TYPE  DATABASE  USER  ADDRESS      METHOD\nlocal   all       all                 trust\nhost    all       all   127.0.0.1/32 trust\nhost    all       all   all          scram-sha-256\n');
  await writeFile(path.join(pg, 'pg_ident.conf'), '# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\n');
  await writeFile(path.join(pg, 'postmaster.opts'), '/usr/lib/postgresql/16/bin/postgres\n');
  await writeStreamed(path.join(await dir('global'), 'pg_control'), 8192, (_o, n) => rng.bytes(n));
  for (const [db, files] of [
    ['1', 6],
    ['4', 4],
    ['5', 4],
    ['16384', 14],
  ] as const) {
    const d = await dir(`base/${db}`);
    for (let i = 0; i < files; i++) {
      const rel = String(1247 + i * 13 + Number(db));
      const size = rng.pick([8192, 16384, 24576, 49152, 122880, 393216]);
      const patterned = rng.float() < 0.5;
      await writeStreamed(path.join(d, rel), size, (off, n) => (patterned ? pagePattern(off, n, rel) : rng.bytes(n)));
    }
  }
  // A large table with many identical pages: compresses and deduplicates well.
  await writeStreamed(path.join(await dir('base/16384'), '24576'), 2 * 1024 * 1024, (off, n) => pagePattern(off, n, 'orders'));
  const wal = await dir('pg_wal');
  await writeStreamed(path.join(wal, '000000010000000000000001'), 1024 * 1024, (off, n) => (off < 256 * 1024 ? rng.bytes(n) : Buffer.alloc(n)));
  await dir('pg_wal/archive_status');
  const logs = await dir('log');
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) {
    const t = new Date(Date.UTC(2026, 10, 21, 0, 0, i * 7)).toISOString().replace('T', ' ').replace('Z', ' UTC');
    lines.push(`${t} [${100 + (i % 9)}] LOG:  ${rng.pick(['checkpoint starting: time', 'checkpoint complete: wrote 42 buffers', 'automatic vacuum of table "shop.public.orders"', 'connection received: host=10.244.1.7 port=51234', 'database system is ready to accept connections'])}`);
  }
  await writeFile(path.join(logs, 'postgresql-2026-11-21.log'), `${lines.join('\n')}\n`);
  for (const d of ['pg_tblspc', 'pg_stat', 'pg_notify', 'pg_snapshots', 'pg_twophase', 'pg_commit_ts', 'pg_replslot']) await dir(d);
  await mkdir(path.join(root, 'tablespaces', 'fast'), { recursive: true, mode: 0o700 });
  await writeFile(path.join(root, 'tablespaces', 'fast', 'README'), 'tablespace for hot tables\n');
  await symlink('../../tablespaces/fast', path.join(pg, 'pg_tblspc', '16390'));
  await chownTree(root, 999, 999);
}

function pagePattern(offset: number, n: number, tag: string): Buffer {
  const page = Buffer.alloc(8192);
  const text = Buffer.from(`row:${tag}:`.padEnd(64, '.'), 'utf8');
  for (let i = 24; i + text.length <= page.length; i += text.length) text.copy(page, i);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = page[(offset + i) % page.length];
  return out;
}

async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { readdir, lchown } = await import('node:fs/promises');
  const walk = async (p: string): Promise<void> => {
    await lchown(p, uid, gid);
    for (const e of await readdir(p, { withFileTypes: true })) {
      const child = path.join(p, e.name);
      if (e.isDirectory()) await walk(child);
      else await lchown(child, uid, gid);
    }
  };
  await walk(root);
  await chown(root, uid, gid);
}

async function fillInvoices(root: string, rng: Prng): Promise<void> {
  for (let m = 1; m <= 3; m++) {
    const d = path.join(root, '2026', String(8 + m).padStart(2, '0'));
    await mkdir(d, { recursive: true });
    for (let i = 0; i < 12; i++) {
      const id = `INV-2026${String(8 + m).padStart(2, '0')}-${String(i + 1).padStart(4, '0')}`;
      const amount = (rng.int(1000, 99999) / 100).toFixed(2);
      await writeFile(path.join(d, `${id}.json`), `${JSON.stringify({ id, customer: `C${rng.int(1000, 9999)}`, amount, currency: 'EUR' }, null, 2)}\n`);
    }
  }
  await writeFile(path.join(root, 'index.csv'), 'id,month\n');
  await chmod(path.join(root, 'index.csv'), 0o640);
}

export interface ScaleOptions {
  /** Number of extra namespaces (scale-000 …). */
  namespaces: number;
  /** Objects per namespace: a mix of ConfigMaps, Secrets, Deployments and Services. */
  objects: number;
  /** Total GiB of volume data, spread over one claim per namespace. */
  volumeGiB: number;
}

/** Fills a cluster with many namespaces, objects and volume bytes, for capture at scale. */
export async function seedScale(api: ObjectApi, dataDir: string, scale: ScaleOptions, log?: (m: string) => void): Promise<void> {
  const dirs = new HostDirs(dataDir);
  const rng = new Prng(424242);
  const withVolumes = scale.volumeGiB > 0 ? Math.max(1, Math.min(scale.namespaces, Math.ceil(scale.volumeGiB * 4))) : 0;
  for (let n = 0; n < scale.namespaces; n++) {
    const ns = `scale-${String(n).padStart(3, '0')}`;
    await put(api, K.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'lifeboat.dev/scale': 'true' } } });
    for (let i = 0; i < scale.objects; i++) {
      const name = `item-${String(i).padStart(4, '0')}`;
      const labels = { app: `app-${i % 7}`, tier: rng.pick(['frontend', 'backend', 'batch']) };
      switch (i % 4) {
        case 0:
          await put(api, K.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data: { 'settings.ini': `[main]\nid=${i}\nns=${ns}\n`.repeat(1 + (i % 5)) } });
          break;
        case 1:
          await put(api, K.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, labels }, type: 'Opaque', data: { token: b64(fakeSecret(rng, 32)) } });
          break;
        case 2:
          await put(api, K.deployments, {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name, namespace: ns, labels },
            spec: {
              replicas: 1,
              selector: { matchLabels: { item: name } },
              template: { metadata: { labels: { ...labels, item: name } }, spec: { containers: [{ name: 'app', image: `registry.example.com/scale/app:1.${i % 10}.0` }] } },
            },
          });
          break;
        default:
          await put(api, K.services, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels }, spec: { selector: { item: `item-${String(i - 1).padStart(4, '0')}` }, ports: [{ port: 80, targetPort: 8080 }] } });
      }
    }
    if (n < withVolumes) {
      const bytes = Math.floor((scale.volumeGiB * GiB) / withVolumes);
      await put(api, K.pvcs, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: ns, annotations: { [BACKUP]: 'true' } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: `${Math.max(1, Math.ceil((bytes * 2) / GiB))}Gi` } } },
      });
      const dir = await claimDir(api, dirs, ns, 'data');
      if (existsSync(path.join(dir, 'files'))) continue;
      log?.(`seed: writing ${(bytes / GiB).toFixed(2)} GiB into ${ns}/data`);
      await generateDataset(path.join(dir, 'files'), { totalBytes: bytes, seed: 1000 + n });
    }
  }
}
