import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'yaml';
import { ErrorCodes as RpcErrorCodes } from 'vscode-jsonrpc';
import { Repository, SnapshotWriter } from '../../../src/engine/repo/api';
import { tarEnd, tarHeader, tarPadding } from '../../../src/engine/repo/tar';
import { LocalBackend } from '../../../src/engine/storage';
import {
  ErrorCodes,
  InitializeRequest,
  PROTOCOL_VERSION,
  SnapshotErrorCodes,
  SnapshotsContentsRequest,
  SnapshotsDeleteRequest,
  SnapshotsFileRequest,
  SnapshotsFilesRequest,
  SnapshotsListRequest,
  SnapshotsObjectRequest,
  type RepositoryRef,
  type SnapshotsContentsResult,
  type SnapshotsFileResult,
  type SnapshotsFilesResult,
  type SnapshotsListResult,
  type SnapshotsObjectResult,
} from '../../../src/protocol/worker';
import { buildCli } from '../../support/proc';
import { rejection, startWorker, type Worker } from './workerProcess';

/** Browsing a snapshot through the worker: its contents, one object as YAML (Secrets redacted), volume files and their bytes. */

const PASSPHRASE = 'lifeboat-browse-passphrase-8812';
const KDF = { N: 1024, r: 8, p: 1 };
const SECRET_VALUE = 'hunter2-very-secret-database-password';
const SECRET_TOKEN = 'tok-5f1c0a9e-never-shown';

const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', uid: 'uid-ns-shop' } };
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'shop', uid: 'uid-deploy-api', labels: { app: 'api' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'api', image: 'registry.example/api:1.4.2' }] } } },
};
const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'db-credentials',
    namespace: 'shop',
    uid: 'uid-secret-db',
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ stringData: { password: SECRET_VALUE } }),
    },
  },
  type: 'Opaque',
  data: { password: Buffer.from(SECRET_VALUE).toString('base64'), token: Buffer.from(SECRET_TOKEN).toString('base64') },
};
const backupPolicy = {
  apiVersion: 'shop.example.com/v1',
  kind: 'BackupPolicy',
  metadata: { name: 'nightly', namespace: 'shop' },
  spec: { schedule: '0 3 * * *' },
};

const config = Buffer.from('listen_addresses = *\nmax_connections = 100\n');
const big = randomBytes(3 * 1024 * 1024 + 17);
const etcdData = randomBytes(64 * 1024);

/** A tar stream as the mover sends it: a directory, two files, a symlink. */
function volumeTar(): Readable {
  const base = { uid: 999, gid: 999, uname: 'postgres', gname: 'postgres', mtime: 1_700_000_000 };
  const parts = [
    tarHeader({ ...base, path: 'pgdata', type: 'dir', mode: 0o700, size: 0 }, 'pgdata'),
    tarHeader({ ...base, path: 'pgdata/postgresql.conf', type: 'file', mode: 0o600, size: config.length }, 'pgdata/postgresql.conf'),
    config,
    tarPadding(config.length),
    tarHeader({ ...base, path: 'pgdata/base.dat', type: 'file', mode: 0o600, size: big.length }, 'pgdata/base.dat'),
    big,
    tarPadding(big.length),
    tarHeader({ ...base, path: 'current', type: 'symlink', mode: 0o777, size: 0, linkTarget: 'pgdata' }, 'current'),
    tarEnd(),
  ];
  return Readable.from(parts);
}

describe('browsing a snapshot through the worker', function () {
  this.timeout(180_000);
  let work: string;
  let repository: RepositoryRef;
  let snapshotId: string;
  let worker: Worker;
  let jobs = 0;
  const job = (): string => `browse-${++jobs}`;
  const volume = { namespace: 'shop', pvc: 'data-db-0' };

  before(async function () {
    const bundle = await buildCli();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-browse-'));
    const location = path.join(work, 'repo');
    const repo = await Repository.init(new LocalBackend(location), { passphrase: PASSPHRASE, kdf: KDF });
    const w = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: { namespaces: ['shop'] } });
    for (const obj of [namespace, deployment, secret, backupPolicy]) await w.addResource(obj);
    await w.addVolume(volume, volumeTar(), { storageClass: 'standard', capacity: '1Gi' });
    await w.addData('etcd', Readable.from([etcdData]));
    snapshotId = (await w.commit()).id;
    await repo.close();
    repository = { location, passphrase: PASSPHRASE };
    worker = startWorker(bundle);
    await worker.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION });
  });

  after(async function () {
    worker?.connection.dispose();
    worker?.child.kill('SIGKILL');
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('lists a snapshot\'s objects by namespace and kind, its volumes with sizes and its data streams', async function () {
    const c = await worker.request<SnapshotsContentsResult>(SnapshotsContentsRequest.method, { jobId: job(), repository, snapshot: snapshotId.slice(0, 10) });
    assert.equal(c.snapshot.id, snapshotId);
    assert.deepEqual(c.namespaces, [
      { namespace: '', kinds: [{ group: '', kind: 'Namespace', names: ['shop'] }] },
      {
        namespace: 'shop',
        kinds: [
          { group: 'shop.example.com', kind: 'BackupPolicy', names: ['nightly'] },
          { group: 'apps', kind: 'Deployment', names: ['api'] },
          { group: '', kind: 'Secret', names: ['db-credentials'] },
        ],
      },
    ]);
    assert.equal(c.volumes.length, 1);
    assert.equal(c.volumes[0].pvc, 'data-db-0');
    assert.equal(c.volumes[0].bytes, config.length + big.length);
    assert.equal(c.volumes[0].storageClass, 'standard');
    assert.deepEqual(
      c.data.map((d) => [d.name, d.bytes]),
      [['etcd', etcdData.length]],
    );
  });

  it('shows an object as YAML equal to the captured object', async function () {
    const r = await worker.request<SnapshotsObjectResult>(SnapshotsObjectRequest.method, {
      jobId: job(),
      repository,
      snapshot: snapshotId,
      object: { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'api' },
    });
    assert.equal(r.redacted, false);
    assert.deepEqual(parse(r.yaml), deployment);
  });

  it('shows a cluster-scoped object when no namespace is given', async function () {
    const r = await worker.request<SnapshotsObjectResult>(SnapshotsObjectRequest.method, {
      jobId: job(),
      repository,
      snapshot: snapshotId,
      object: { group: '', kind: 'Namespace', name: 'shop' },
    });
    assert.deepEqual(parse(r.yaml), namespace);
  });

  it('shows a Secret with its keys but each value replaced by its size, never the value', async function () {
    const r = await worker.request<SnapshotsObjectResult>(SnapshotsObjectRequest.method, {
      jobId: job(),
      repository,
      snapshot: snapshotId,
      object: { group: '', kind: 'Secret', namespace: 'shop', name: 'db-credentials' },
    });
    assert.equal(r.redacted, true);
    const shown = parse(r.yaml) as typeof secret;
    assert.deepEqual(shown.data, { password: `<redacted: ${SECRET_VALUE.length} bytes>`, token: `<redacted: ${SECRET_TOKEN.length} bytes>` });
    assert.equal(shown.metadata.uid, 'uid-secret-db');
    assert.match(shown.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], /^<redacted: \d+ bytes>$/);
    for (const text of [r.yaml, ...worker.answers, JSON.stringify(worker.received)]) {
      for (const leaked of [SECRET_VALUE, SECRET_TOKEN, secret.data.password, secret.data.token]) assert.ok(!text.includes(leaked), 'a secret value reached the client');
    }
  });

  it('answers a missing object with notFound, naming it', async function () {
    const err = await rejection(
      worker.request(SnapshotsObjectRequest.method, {
        jobId: job(),
        repository,
        snapshot: snapshotId,
        object: { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web' },
      }),
    );
    assert.equal(err.code, ErrorCodes.notFound);
    assert.match(err.message, /Deployment shop\/web/);
  });

  it('lists a volume\'s directories with type, size, mode, time and link target', async function () {
    const root = await worker.request<SnapshotsFilesResult>(SnapshotsFilesRequest.method, { jobId: job(), repository, snapshot: snapshotId, volume, dir: '/' });
    assert.deepEqual(
      root.entries.map((e) => [e.path, e.type, e.target]),
      [
        ['/current', 'symlink', 'pgdata'],
        ['/pgdata', 'dir', undefined],
      ],
    );
    const pgdata = await worker.request<SnapshotsFilesResult>(SnapshotsFilesRequest.method, { jobId: job(), repository, snapshot: snapshotId, volume, dir: '/pgdata' });
    assert.deepEqual(
      pgdata.entries.map((e) => [e.path, e.type, e.size, e.mode & 0o777]),
      [
        ['/pgdata/base.dat', 'file', big.length, 0o600],
        ['/pgdata/postgresql.conf', 'file', config.length, 0o600],
      ],
    );
    assert.equal(new Date(pgdata.entries[0].mtime).getTime(), 1_700_000_000_000);
  });

  it('returns a file\'s bytes unchanged', async function () {
    for (const [p, expected] of [
      ['/pgdata/postgresql.conf', config],
      ['/pgdata/base.dat', big],
    ] as const) {
      const r = await worker.request<SnapshotsFileResult>(SnapshotsFileRequest.method, {
        jobId: job(),
        repository,
        snapshot: snapshotId,
        volume,
        path: p,
        maxBytes: 16 * 1024 * 1024,
      });
      assert.equal(r.size, expected.length);
      assert.ok(Buffer.from(r.content, 'base64').equals(expected), `${p} differs`);
    }
  });

  it('refuses a file beyond maxBytes, naming its size and the command that streams it', async function () {
    const err = await rejection(
      worker.request(SnapshotsFileRequest.method, { jobId: job(), repository, snapshot: snapshotId, volume, path: '/pgdata/base.dat', maxBytes: 1024 * 1024 }),
    );
    assert.equal(err.code, SnapshotErrorCodes.tooLarge);
    assert.match(err.message, /base\.dat is 3\.0 MiB, more than the 1\.0 MiB/);
    assert.match(err.message, /lifeboat repo cat \S+ --volume shop\/data-db-0 --path \/pgdata\/base\.dat/);
  });

  it('refuses paths that climb out of the volume, and unknown fields', async function () {
    const climb = await rejection(
      worker.request(SnapshotsFilesRequest.method, { jobId: job(), repository, snapshot: snapshotId, volume, dir: '/pgdata/../..' }),
    );
    assert.equal(climb.code, RpcErrorCodes.InvalidParams);
    assert.match(climb.message, /dir/);
    const unknown = await rejection(
      worker.request(SnapshotsObjectRequest.method, {
        jobId: job(),
        repository,
        snapshot: snapshotId,
        object: { group: '', kind: 'Secret', namespace: 'shop', name: 'db-credentials', reveal: true },
      }),
    );
    assert.equal(unknown.code, RpcErrorCodes.InvalidParams);
    assert.match(unknown.message, /object\.reveal/);
  });

  it('reads a snapshot another process wrote after the worker first opened the repository', async function () {
    // The worker has this repository open from the tests above; the new snapshot's blobs are in packs it has not seen.
    const repo = await Repository.open(new LocalBackend(repository.location), { passphrase: PASSPHRASE });
    const w = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: { namespaces: ['shop'] } });
    const later = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'added-later', namespace: 'shop' }, data: { note: randomBytes(8).toString('hex') } };
    await w.addResource(later);
    const laterConfig = randomBytes(5000);
    const tar = [
      tarHeader({ path: 'later.bin', type: 'file', mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: 1_700_000_000, size: laterConfig.length }, 'later.bin'),
      laterConfig,
      tarPadding(laterConfig.length),
      tarEnd(),
    ];
    await w.addVolume(volume, Readable.from(tar));
    const id = (await w.commit()).id;
    await repo.close();
    const r = await worker.request<SnapshotsObjectResult>(SnapshotsObjectRequest.method, {
      jobId: job(),
      repository,
      snapshot: id,
      object: { group: '', kind: 'ConfigMap', namespace: 'shop', name: 'added-later' },
    });
    assert.deepEqual(parse(r.yaml), later);
    const f = await worker.request<SnapshotsFileResult>(SnapshotsFileRequest.method, { jobId: job(), repository, snapshot: id, volume, path: '/later.bin', maxBytes: 1 << 20 });
    assert.ok(Buffer.from(f.content, 'base64').equals(laterConfig));
  });

  it('deletes a snapshot, after which it is no longer listed', async function () {
    const location = path.join(work, 'doomed');
    const repo = await Repository.init(new LocalBackend(location), { passphrase: PASSPHRASE, kdf: KDF });
    const ids: string[] = [];
    for (const cluster of ['prod', 'dev']) {
      const w = await SnapshotWriter.begin(repo, { cluster, scope: {} });
      await w.addResource(namespace);
      ids.push((await w.commit()).id);
    }
    await repo.close();
    const doomed = { location, passphrase: PASSPHRASE };
    const r = await worker.request<{ id: string }>(SnapshotsDeleteRequest.method, { jobId: job(), repository: doomed, snapshot: ids[0].slice(0, 12) });
    assert.equal(r.id, ids[0]);
    const list = await worker.request<SnapshotsListResult>(SnapshotsListRequest.method, { jobId: job(), repository: doomed });
    assert.deepEqual(
      list.snapshots.map((s) => s.id),
      [ids[1]],
    );
  });
});
