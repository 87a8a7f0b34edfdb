import * as assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import WebSocket from 'ws';
import { diffTrees, generateDataset, hashTree } from '../../support/datagen';
import { run, waitFor } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';
import { HostDirs } from '../../sandbox/controllers/hostdirs';

/** Runs a process with its stdout streamed to a file; resolves with its exit code and stderr. */
function runToFile(cmd: string, args: string[], file: string, env: NodeJS.ProcessEnv, stdinFrom?: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.pipe(createWriteStream(file));
    if (stdinFrom) {
      const producer = spawn(stdinFrom[0], stdinFrom.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
      producer.stdout.pipe(child.stdin);
    } else child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('sandbox pod exec (kubectl and client-node over WebSocket or SPDY, processes in bubblewrap)', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let dbDir: string;
  const kubectl = (...args: string[]) => run('kubectl', args, { env: { KUBECONFIG: sandbox.kubeconfigPath }, timeoutMs: 60_000 });
  const kubectlOkWait = async (what: string) => {
    const r = await kubectl('wait', '--for=jsonpath={.status.phase}=Running', what, '-n', 'shop', '--timeout=60s');
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    sandbox = await startSandbox({ clusters: ['prod'] });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-exec-test-'));
    env = { ...process.env, KUBECONFIG: sandbox.kubeconfigPath };
    dbDir = (await sandbox.clusters.get('prod')!.claimDir('shop', 'data-db-0'))!;
    assert.ok(dbDir, 'the seeded database claim is bound');
  });

  after(async () => {
    await sandbox?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('streams a volume out with tar, byte for byte, symlinks and owners included', async () => {
    const archive = path.join(tmp, 'db.tar');
    const r = await runToFile('kubectl', ['exec', '-n', 'shop', 'db-0', '--', 'tar', 'cf', '-', '-C', '/var/lib/postgresql/data', '.'], archive, env);
    assert.equal(r.code, 0, r.stderr);
    const out = path.join(tmp, 'db-out');
    await mkdir(out);
    execFileSync('tar', ['xf', archive, '-C', out, '--same-owner']);
    const expected = await hashTree(dbDir);
    assert.ok(expected.size > 40, `the seeded volume has files (${expected.size})`);
    assert.deepEqual(diffTrees(expected, await hashTree(out)), []);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', archive, './pgdata/PG_VERSION']).toString();
    assert.match(listing, /999\/999/, 'file owners travel in the archive');
    assert.ok(expected.get('pgdata/pg_tblspc/16390')?.startsWith('symlink:'));
  });

  it('writes a tar stream from stdin into the volume (kubectl exec -i)', async () => {
    const src = path.join(tmp, 'upload');
    await generateDataset(src, { totalBytes: 3 * 1024 * 1024, seed: 5 });
    const r = await runToFile(
      'kubectl',
      ['exec', '-i', '-n', 'shop', 'db-0', '--', 'sh', '-c', 'mkdir -p /var/lib/postgresql/data/restore && tar xf - -C /var/lib/postgresql/data/restore'],
      path.join(tmp, 'upload.out'),
      env,
      ['tar', 'cf', '-', '-C', src, '.'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(diffTrees(await hashTree(src), await hashTree(path.join(dbDir, 'restore'))), []);
  });

  it('ends promptly when the process stops reading stdin before the client has sent it all', async () => {
    const big = Buffer.alloc(16 * 1024 * 1024, 7);
    const t0 = Date.now();
    const r = await run('kubectl', ['exec', '-i', '-n', 'shop', 'db-0', '--', 'head', '-c', '1'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, input: big, timeoutMs: 60_000 });
    const took = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, 1);
    assert.ok(took < 10_000, `exec took ${took} ms`);
  });

  it('propagates exit codes and stderr, and gives the container its env and read-only mounts', async () => {
    const exit3 = await kubectl('exec', '-n', 'shop', 'db-0', '--', 'sh', '-c', 'echo to-stderr >&2; exit 3');
    assert.equal(exit3.code, 3);
    assert.match(exit3.stderr, /to-stderr/);
    const envOut = await kubectl('exec', '-n', 'shop', 'db-0', '--', 'sh', '-c', 'echo "$POSTGRES_USER $PGDATA $HOSTNAME"');
    assert.equal(envOut.code, 0, envOut.stderr);
    assert.equal(envOut.stdout.trim(), 'shop /var/lib/postgresql/data/pgdata db-0');
    const conf = await kubectl('exec', '-n', 'shop', 'db-0', '--', 'cat', '/config/tuning.conf');
    assert.match(conf.stdout, /shared_buffers = 256MB/);
    const write = await kubectl('exec', '-n', 'shop', 'db-0', '--', 'touch', '/config/new-file');
    assert.notEqual(write.code, 0, 'a readOnly mount refuses writes');
    const web = (await kubectl('get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}')).stdout;
    const nginx = await kubectl('exec', '-n', 'shop', web, '--', 'cat', '/etc/nginx/conf.d/default.conf');
    assert.equal(nginx.code, 0, nginx.stderr);
    assert.match(nginx.stdout, /listen 8080/);
  });

  it('gives a pod a private emptyDir that lives as long as the pod', async () => {
    const pod = `
apiVersion: v1
kind: Pod
metadata: {name: scratch, namespace: shop}
spec:
  containers:
  - {name: app, image: 'busybox:1.36', command: [sleep, infinity], volumeMounts: [{name: tmp, mountPath: /scratch}]}
  volumes: [{name: tmp, emptyDir: {}}]
`;
    const kubectlIn = (input: string, ...args: string[]) => run('kubectl', args, { env: { KUBECONFIG: sandbox.kubeconfigPath }, input, timeoutMs: 60_000 });
    assert.equal((await kubectlIn(pod, 'apply', '-f', '-')).code, 0);
    await kubectlOkWait('pod/scratch');
    assert.equal((await kubectl('exec', '-n', 'shop', 'scratch', '--', 'sh', '-c', 'echo kept > /scratch/note')).code, 0);
    assert.equal((await kubectl('exec', '-n', 'shop', 'scratch', '--', 'cat', '/scratch/note')).stdout, 'kept\n');
    const prod = sandbox.clusters.get('prod')!;
    const uid = (await kubectl('get', 'pod', 'scratch', '-n', 'shop', '-o', 'jsonpath={.metadata.uid}')).stdout;
    const hostDir = new HostDirs(prod.dataDir).podRoot(uid);
    assert.ok(existsSync(hostDir));
    assert.equal((await kubectl('delete', 'pod', 'scratch', '-n', 'shop', '--wait=true')).code, 0);
    await waitFor('the deleted pod`s emptyDir to be removed from the node', () => !existsSync(hostDir) || undefined, 30_000);
    assert.equal((await kubectlIn(pod, 'apply', '-f', '-')).code, 0);
    await kubectlOkWait('pod/scratch');
    assert.equal((await kubectl('exec', '-n', 'shop', 'scratch', '--', 'ls', '-A', '/scratch')).stdout, '', 'a new pod starts with an empty emptyDir');
  });

  it('refuses exec into a pod that does not exist, with the API error', async () => {
    const r = await kubectl('exec', '-n', 'shop', 'nope-0', '--', 'true');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "nope-0" not found/);
  });

  it('kills the process when the client goes away', async () => {
    const marker = '317.25';
    const child = spawn('kubectl', ['exec', '-n', 'shop', 'db-0', '--', 'sleep', marker], { env, stdio: 'ignore' });
    const running = () => execFileSync('ps', ['-eo', 'args']).toString().split('\n').some((l) => l.trim() === `sleep ${marker}`);
    await waitFor('the exec process to start', () => running() || undefined, 30_000);
    child.kill('SIGKILL');
    await waitFor('the exec process to be killed', () => !running() || undefined, 30_000);
  });

  it('holds the process back while the client reads slowly, so memory stays flat', async () => {
    const total = 512 * 1024 * 1024;
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const received = await new Promise<number>((resolve, reject) => {
        const child = spawn('kubectl', ['exec', '-n', 'shop', 'db-0', '--', 'head', '-c', String(total), '/dev/zero'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let bytes = 0;
        // A stalled reader: without flow control the server would buffer the whole stream meanwhile.
        child.stdout.pause();
        setTimeout(() => child.stdout.on('data', (d: Buffer) => (bytes += d.length)).resume(), 3000);
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`kubectl exec exited ${code}`))));
      });
      assert.equal(received, total);
    } finally {
      clearInterval(sampler);
    }
    const growthMiB = (peak - base) / 2 ** 20;
    assert.ok(growthMiB < 200, `memory grew by ${growthMiB.toFixed(0)} MiB while streaming ${total / 2 ** 20} MiB`);
  });

  it('speaks the older channel protocols: v4 reports the exit code as a Status, v1 as text', async () => {
    const prod = sandbox.clusters.get('prod')!;
    const exec = (protocol: string) =>
      new Promise<Map<number, string>>((resolve, reject) => {
        const query = ['sh', '-c', 'echo out; exit 5'].map((c) => `command=${encodeURIComponent(c)}`).join('&');
        const ws = new WebSocket(`${prod.url.replace('https', 'wss')}/api/v1/namespaces/shop/pods/db-0/exec?${query}&stdout=true&stderr=true`, [protocol], {
          ca: prod.caCert,
          headers: { Authorization: `Bearer ${prod.tokens.admin}` },
        });
        const channels = new Map<number, string>();
        ws.on('message', (data: Buffer) => channels.set(data[0], (channels.get(data[0]) ?? '') + data.subarray(1).toString()));
        ws.on('close', () => resolve(channels));
        ws.on('error', reject);
        ws.on('open', () => assert.equal(ws.protocol, protocol));
      });
    const v4 = await exec('v4.channel.k8s.io');
    assert.equal(v4.get(1), 'out\n');
    const status = JSON.parse(v4.get(3)!);
    assert.equal(status.status, 'Failure');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '5' }]);
    const v1 = await exec('channel.k8s.io');
    assert.equal(v1.get(1), 'out\n');
    assert.match(v1.get(3)!, /command terminated with non-zero exit code: .*exit code 5/);
  });

  it('serves kubectl 1.29 and older over SPDY/3.1: stdin, stdout, stderr and the exit code', async function () {
    const old = '/usr/lib/google-cloud-sdk/bin/kubectl.1.29';
    if (!existsSync(old)) this.skip();
    const input = Buffer.alloc(3 * 1024 * 1024, 'lifeboat ');
    const r = await run(old, ['exec', '-i', '-n', 'shop', 'db-0', '--', 'sh', '-c', 'wc -c; echo warn >&2; exit 7'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, input, timeoutMs: 60_000 });
    assert.equal(r.stdout.trim(), String(input.length));
    assert.match(r.stderr, /warn/);
    assert.equal(r.code, 7);
    const archive = path.join(tmp, 'spdy.tar');
    const t = await runToFile(old, ['exec', '-n', 'shop', 'db-0', '--', 'tar', 'cf', '-', '-C', '/var/lib/postgresql/data/pgdata', 'base'], archive, env);
    assert.equal(t.code, 0, t.stderr);
    const out = path.join(tmp, 'spdy-out');
    await mkdir(out);
    execFileSync('tar', ['xf', archive, '-C', out]);
    assert.deepEqual(diffTrees(await hashTree(path.join(dbDir, 'pgdata', 'base')), await hashTree(path.join(out, 'base'))), []);
  });

  it('serves the client-node Exec API with a v5 status on exit', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(sandbox.kubeconfigPath);
    const exec = new k8s.Exec(kc);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const status = await new Promise<k8s.V1Status>((resolve, reject) => {
      exec.exec('shop', 'db-0', 'postgres', ['sh', '-c', 'cat /var/lib/postgresql/data/pgdata/PG_VERSION; exit 4'], stdout, stderr, null, false, (s) => resolve(s)).catch(reject);
    });
    assert.equal(out.trim(), (await readFile(path.join(dbDir, 'pgdata', 'PG_VERSION'), 'utf8')).trim());
    assert.equal(status.status, 'Failure');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details?.causes, [{ reason: 'ExitCode', message: '4' }]);
  });

  it('snapshots a volume through the CSI snapshot class and provisions a claim from it with the same files', async () => {
    const manifest = `
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: db-snap, namespace: shop}
spec:
  volumeSnapshotClassName: sandbox-snapclass
  source: {persistentVolumeClaimName: data-db-0}
`;
    const applied = await run('kubectl', ['apply', '-f', '-'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, input: manifest });
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor('the snapshot to be ready', async () => ((await kubectl('get', 'volumesnapshot', '-n', 'shop', 'db-snap', '-o', 'jsonpath={.status.readyToUse}')).stdout === 'true') || undefined, 60_000);
    const expected = await hashTree(dbDir);
    // Later writes to the source must not show in the snapshot.
    assert.equal((await kubectl('exec', '-n', 'shop', 'db-0', '--', 'sh', '-c', 'echo later > /var/lib/postgresql/data/after-snapshot')).code, 0);
    const restore = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: db-restored, namespace: shop}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: db-snap}
---
apiVersion: v1
kind: Pod
metadata: {name: restore-check, namespace: shop}
spec:
  containers:
  - name: check
    image: busybox:1.36
    command: [sleep, infinity]
    volumeMounts: [{name: data, mountPath: /restored, readOnly: true}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: db-restored}
`;
    const r2 = await run('kubectl', ['apply', '-f', '-'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, input: restore });
    assert.equal(r2.code, 0, r2.stderr);
    await waitFor('the restore pod to run', async () => ((await kubectl('get', 'pod', '-n', 'shop', 'restore-check', '-o', 'jsonpath={.status.phase}')).stdout === 'Running') || undefined, 60_000);
    const archive = path.join(tmp, 'restored.tar');
    const r3 = await runToFile('kubectl', ['exec', '-n', 'shop', 'restore-check', '--', 'tar', 'cf', '-', '-C', '/restored', '.'], archive, env);
    assert.equal(r3.code, 0, r3.stderr);
    const out = path.join(tmp, 'restored');
    await mkdir(out);
    execFileSync('tar', ['xf', archive, '-C', out]);
    assert.deepEqual(diffTrees(expected, await hashTree(out)), []);
    const vs = JSON.parse((await kubectl('get', 'volumesnapshot', '-n', 'shop', 'db-snap', '-o', 'json')).stdout);
    assert.match(vs.status.boundVolumeSnapshotContentName, /^snapcontent-/);
    const content = JSON.parse((await kubectl('get', 'volumesnapshotcontent', vs.status.boundVolumeSnapshotContentName, '-o', 'json')).stdout);
    assert.equal(content.spec.driver, 'hostpath.sandbox.lifeboat.dev');
    assert.equal(content.status.readyToUse, true);
  });
});
