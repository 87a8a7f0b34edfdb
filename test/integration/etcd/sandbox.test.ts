import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { captureEtcd } from '../../../src/engine/etcd';
import { Repository, SnapshotWriter } from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage';
import { startSandbox, type Sandbox } from '../../sandbox';
import { startEtcd, type RunningEtcd } from '../../support/etcd';
import { assertSameKeys, catData, password, readAll, restoreAndRead, snapshotStatus } from './drill';

/** Where the sandbox keeps the objects of cluster prod in etcd. */
const PROD_REGISTRY = '/lifeboat-sandbox/prod/registry/';

function ofShop(keys: Map<string, Buffer>): Map<string, Buffer> {
  return new Map([...keys].filter(([k]) => k.includes('/shop/') || k.endsWith('/namespaces/shop')));
}

describe('the etcd of a sandbox cluster, captured and restored', function () {
  this.timeout(300_000);
  let work: string;
  let etcd: RunningEtcd;
  let sandbox: Sandbox | undefined;
  let repo: Repository | undefined;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-etcd-sandbox-'));
    etcd = await startEtcd();
    sandbox = await startSandbox({ etcd: etcd.endpoint, clusters: ['prod'], dataDir: path.join(work, 'sandbox') });
  });
  after(async () => {
    await repo?.close();
    await sandbox?.stop();
    await etcd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('brings back every object of the shop namespace, as it was at the snapshot revision', async () => {
    const repoDir = path.join(work, 'repo');
    repo = await Repository.init(new LocalBackend(repoDir), { passphrase: password });
    const writer = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: {} });
    const captured = await captureEtcd({ endpoints: [etcd.endpoint] }, writer);
    const summary = await writer.commit();

    const file = path.join(work, 'sandbox.db');
    await catData(repoDir, summary.id, 'etcd', file);
    const status = await snapshotStatus(file);
    // The cluster keeps writing (status updates, leases), so the snapshot may be a little newer than the status before it.
    assert.ok(status.revision >= captured.info.revision, `snapshot revision ${status.revision}, status before it ${captured.info.revision}`);

    const live = new Etcd3({ hosts: etcd.endpoint });
    let expected: Map<string, Buffer>;
    try {
      expected = ofShop(await readAll(live, PROD_REGISTRY, status.revision));
    } finally {
      live.close();
    }
    assert.ok([...expected.keys()].some((k) => k.includes('/statefulsets/shop/db')), 'the seed\'s StatefulSet is in etcd');
    assert.ok([...expected.keys()].some((k) => k.includes('/secrets/shop/')), 'and its Secrets');
    assert.ok(expected.size >= 10, `${expected.size} shop keys`);

    const restored = ofShop(await restoreAndRead(file, work, PROD_REGISTRY));
    assertSameKeys(restored, expected, 'the shop namespace');
  });
});
