/**
 * The restore drill of the etcd tests: a snapshot read back with
 * `lifeboat repo cat --data etcd`, checked and restored with etcdctl, and the
 * restored etcd started to read its keys.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../../support/etcd';
import { buildCli, runOk } from '../../support/proc';

export const password = 'etcd drill passphrase';

/** Runs `lifeboat repo cat SNAPSHOT --data NAME` with stdout going straight to `file` (binary-safe). */
export async function catData(repoDir: string, snapshot: string, name: string, file: string): Promise<void> {
  const cli = await buildCli();
  const out = fs.openSync(file, 'w');
  try {
    const child = spawn(process.execPath, [cli, 'repo', 'cat', snapshot, '--data', name, '--repo', repoDir], {
      stdio: ['ignore', out, 'pipe'],
      env: { ...process.env, LIFEBOAT_PASSWORD: password },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    assert.equal(code, 0, `lifeboat repo cat --data ${name} failed: ${stderr}`);
  } finally {
    fs.closeSync(out);
  }
}

export interface SnapshotFileStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

export async function snapshotStatus(file: string): Promise<SnapshotFileStatus> {
  const r = await runOk('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { env: { ETCDCTL_API: '3' }, timeoutMs: 60_000 });
  return JSON.parse(r.stdout) as SnapshotFileStatus;
}

/**
 * Restores `file` into a new data directory under `work`, starts etcd on it,
 * and returns every key under `prefix` with its value.
 */
export async function restoreAndRead(file: string, work: string, prefix: string): Promise<Map<string, Buffer>> {
  const dataDir = path.join(work, `restored-${Date.now()}`);
  await runOk('etcdctl', [
      'snapshot', 'restore', file, '--data-dir', dataDir,
      // The member name startEtcd runs under; its peer address there differs, which a restarted single member ignores.
      '--name', 'sandbox', '--initial-cluster', 'sandbox=http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
    ], { env: { ETCDCTL_API: '3' }, timeoutMs: 120_000 });
  const etcd = await startEtcd({ dataDir });
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    return await readAll(client, prefix);
  } finally {
    client.close();
    await etcd.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every key under `prefix` (at `revision` if given), read in pages so large values do not overflow a response. */
export async function readAll(client: Etcd3, prefix: string, revision?: number): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const keys = await (revision ? client.getAll().prefix(prefix).revision(revision) : client.getAll().prefix(prefix)).keys();
  for (const key of keys) {
    const q = client.get(key);
    const value = await (revision ? q.revision(revision) : q).buffer();
    if (value) out.set(key, value);
  }
  return out;
}

export function assertSameKeys(actual: Map<string, Buffer>, expected: Map<string, Buffer>, what: string): void {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} key(s) of ${what} missing after restore`);
  const differ = [...expected].filter(([k, v]) => !actual.get(k)!.equals(v)).map(([k]) => k);
  assert.deepEqual(differ.slice(0, 10), [], `${differ.length} value(s) of ${what} differ after restore`);
  assert.equal(actual.size, expected.size, `the restored ${what} has exactly the keys it had`);
}
