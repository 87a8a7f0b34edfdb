import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { PLAN_ACTIONS, type RestorePlan, type RestoreResult } from '../../../src/engine/restore/types';
import { buildCli, cli, cliOk, parseJson, run } from '../../support/proc';
import { startRestoreBed, type RestoreBed } from './bed';

/**
 * `lifeboat plan`, `restore` and `restore-file` as a person or a script runs
 * them: the CLI bundle as a real process, the sandbox clusters over HTTPS,
 * a repository holding a capture of prod's namespace shop.
 */

describe('lifeboat plan, restore and restore-file on the sandbox clusters', function () {
  this.timeout(300_000);
  let bed: RestoreBed;
  /** Every Secret value of prod's shop, decoded and as stored: none may appear in any output. */
  const secretValues: string[] = [];
  const env = () => ({ KUBECONFIG: bed.sandbox.kubeconfigPath, LIFEBOAT_REPOSITORY: bed.repoDir, LIFEBOAT_PASSWORD: bed.passphrase });
  const lifeboat = (...args: string[]) => cli(args, { env: env(), timeoutMs: 240_000 });
  const hydrate = ['latest', '--to', 'sandbox-dev', '-n', 'shop', '--namespace-mapping', 'shop:shop-dev'];
  const devNamespaces = async () => (await bed.kubectl(['--context', 'sandbox-dev', 'get', 'namespaces', '-o', 'name'])).split('\n');
  const assertNoSecret = (text: string, what: string) => {
    for (const v of secretValues) assert.ok(!text.includes(v), `${what} shows a Secret value`);
  };

  before(async function () {
    bed = await startRestoreBed('cli');
    await bed.kubectl(['--context', 'sandbox-prod', 'wait', '--for=jsonpath={.status.phase}=Running', 'pod/db-0', '-n', 'shop', '--timeout=60s']);
    await cliOk(['capture', '--context', 'sandbox-prod', '-n', 'shop'], { env: env(), timeoutMs: 240_000 });
    const secrets = JSON.parse(await bed.kubectl(['--context', 'sandbox-prod', 'get', 'secrets', '-n', 'shop', '-o', 'json'])) as { items: { data?: Record<string, string> }[] };
    for (const s of secrets.items) {
      for (const b64 of Object.values(s.data ?? {})) {
        const decoded = Buffer.from(b64, 'base64').toString('utf8');
        // Short values ("shop") are ordinary words found elsewhere; the passwords and keys are long.
        if (decoded.length >= 12) secretValues.push(decoded, b64);
        else if (b64.length >= 12) secretValues.push(b64);
      }
    }
    assert.ok(secretValues.length >= 2, 'the seeded shop has Secrets with long values');
  });

  after(async () => {
    await bed?.stop();
  });

  it('plan --output json prints the plan: target, items with group, kind, namespace, name, action and diff, volumes, warnings; writes nothing', async () => {
    const r = await lifeboat('plan', ...hydrate, '--output', 'json');
    assert.equal(r.code, 0, r.stderr);
    assertNoSecret(r.stdout + r.stderr, 'plan --output json');
    const plan = parseJson<RestorePlan>(r);
    assert.equal(plan.target.context, 'sandbox-dev');
    assert.equal(plan.target.production, false);
    assert.match(plan.target.server, /^https:\/\/127\.0\.0\.1:\d+/);
    assert.ok(Array.isArray(plan.warnings));
    assert.ok(plan.items.length > 5, `${plan.items.length} items`);
    for (const item of plan.items) {
      assert.equal(typeof item.group, 'string');
      assert.equal(typeof item.kind, 'string');
      assert.equal(typeof item.name, 'string');
      assert.equal(typeof item.diff, 'string');
      assert.ok(PLAN_ACTIONS.includes(item.action), item.action);
      if (item.kind !== 'Namespace' && item.namespace !== undefined) assert.equal(item.namespace, 'shop-dev', `${item.kind} ${item.name}`);
    }
    const find = (kind: string, name: string) => plan.items.find((i) => i.kind === kind && i.name === name);
    assert.equal(find('Namespace', 'shop-dev')?.action, 'create');
    assert.equal(find('StatefulSet', 'db')?.group, 'apps');
    assert.equal(find('StatefulSet', 'db')?.action, 'create');
    const volume = plan.volumes.find((v) => v.pvc === 'data-db-0');
    assert.ok(volume, JSON.stringify(plan.volumes));
    assert.deepEqual(volume.source, { namespace: 'shop', pvc: 'data-db-0' });
    assert.equal(volume.namespace, 'shop-dev');
    assert.equal(volume.action, 'write');
    assert.ok(volume.bytes > 0 && volume.files > 0);
    assert.ok(!(await devNamespaces()).includes('namespace/shop-dev'), 'a plan created the namespace');
  });

  it('plan prints a table: the target, counts, one row per object, the volume with its size', async () => {
    const r = await lifeboat('plan', ...hydrate, '--profile', 'dev');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /^target: context sandbox-dev \(cluster sandbox-dev, https:\/\/127\.0\.0\.1:\d+\)$/);
    assert.ok(!lines[0].includes('PRODUCTION'));
    assert.match(r.stdout, /^profile: dev, existing objects: update$/m);
    assert.match(r.stdout, /^objects: \d+ create/m);
    assert.match(r.stdout, /^ACTION\s+KIND\s+NAMESPACE\/NAME\s+NOTE$/m);
    assert.match(r.stdout, /^create\s+StatefulSet\s+shop-dev\/db\b/m);
    assert.match(r.stdout, /^create\s+Namespace\s+shop-dev\b/m);
    assert.match(r.stdout, /^ {2}write\s+shop-dev\/data-db-0\s+\d+ file\(s\), [\d.]+ (B|KiB|MiB)/m);
    assertNoSecret(r.stdout + r.stderr, 'plan table');
  });

  it('plan --output diff shows every object as added lines, Secrets redacted, no Secret value', async () => {
    const r = await lifeboat('plan', ...hydrate, '--output', 'diff');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^=== create ConfigMap shop-dev\/(\S+)\n(# .*\n)?--- live ConfigMap shop-dev\/\1 \(sandbox-dev\)\n\+\+\+ restore ConfigMap shop-dev\/\1 .*\n@@ -0,0 \+1,\d+ @@\n\+apiVersion: v1\n/m);
    assert.match(r.stdout, /^=== create Secret shop-dev\/db-credentials$/m);
    assert.match(r.stdout, /redacted/);
    assert.ok(!r.stdout.includes('\x1b['), 'no colour when stdout is not a terminal');
    assertNoSecret(r.stdout + r.stderr, 'plan --output diff');
  });

  it('marks a production target in the table', async () => {
    const r = await lifeboat('plan', 'latest', '--to', 'sandbox-prod', '-n', 'shop', '--include-kinds', 'ConfigMap');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0], /context sandbox-prod .*\*\*\* PRODUCTION \*\*\*/);
  });

  it('restore without --yes and without a terminal refuses, saying to pass --yes, and writes nothing', async () => {
    const r = await lifeboat('restore', ...hydrate);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /pass --yes/);
    assert.match(r.stderr, /sandbox-dev/);
    assert.ok(!(await devNamespaces()).includes('namespace/shop-dev'));
  });

  /** `lifeboat ARGS` at a terminal (a pseudo-terminal from script(1)), typing `answer` at the prompt. */
  const atTerminal = async (args: string[], answer: string) => {
    const quoted = [process.execPath, await buildCli(), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    return run('script', ['-qec', quoted, '/dev/null'], { env: env(), input: `${answer}\n`, timeoutMs: 240_000 });
  };

  it('restore at a terminal shows the plan, calls a production context out, and writes nothing unless the context name is typed', async () => {
    const r = await atTerminal(['restore', 'latest', '--to', 'sandbox-prod', '-n', 'shop', '--include-kinds', 'ConfigMap', '--namespace-mapping', 'shop:shop-copy'], 'yes');
    assert.equal(r.code, 130, r.stdout);
    assert.match(r.stdout, /^target: context sandbox-prod .*PRODUCTION/m);
    assert.match(r.stdout, /sandbox-prod is a PRODUCTION context/);
    assert.match(r.stdout, /Restore into context sandbox-prod\? Type the context name to confirm:/);
    assert.match(r.stdout, /not confirmed: nothing was written to sandbox-prod/);
    const namespaces = (await bed.kubectl(['--context', 'sandbox-prod', 'get', 'namespaces', '-o', 'name'])).split('\n');
    assert.ok(!namespaces.includes('namespace/shop-copy'));
  });

  it('restore at a terminal goes ahead once the target context is typed back', async () => {
    const r = await atTerminal(['restore', 'latest', '--to', 'sandbox-dev', '-n', 'shop', '--include-kinds', 'ConfigMap', '--namespace-mapping', 'shop:shop-typed'], 'sandbox-dev');
    assert.equal(r.code, 0, r.stdout);
    assert.ok(!/PRODUCTION/.test(r.stdout));
    assert.match(r.stdout, /restore into sandbox-dev complete/);
    assert.ok((await devNamespaces()).includes('namespace/shop-typed'));
  });

  it('restore --yes hydrates shop into sandbox-dev as shop-dev with the dev profile, prints each write and a complete verify', async () => {
    const r = await lifeboat('restore', ...hydrate, '--profile', 'dev', '--yes');
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    assertNoSecret(r.stdout + r.stderr, 'restore');
    assert.match(r.stdout, /^verify: \d+ unchanged$/m);
    assert.match(r.stdout, /^restore into sandbox-dev complete$/m);
    assert.ok(r.stderr.split('\n').length > 5, `the writes are printed as they are done:\n${r.stderr}`);
    const sts = JSON.parse(await bed.kubectl(['--context', 'sandbox-dev', 'get', 'statefulset', 'db', '-n', 'shop-dev', '-o', 'json']));
    assert.equal(sts.spec.replicas, 1);
    const secret = JSON.parse(await bed.kubectl(['--context', 'sandbox-dev', 'get', 'secret', 'db-credentials', '-n', 'shop-dev', '-o', 'json']));
    assertNoSecret(JSON.stringify(secret.data), 'the dev copy (placeholders expected)');

    const again = await lifeboat('plan', ...hydrate, '--profile', 'dev', '--output', 'json');
    assert.equal(again.code, 0, again.stderr);
    const plan = parseJson<RestorePlan>(again);
    const changing = plan.items.filter((i) => i.action !== 'unchanged');
    assert.deepEqual(changing.map((i) => `${i.action} ${i.kind} ${i.name}`), [], 'a plan after the restore finds nothing to change');
    assert.deepEqual(plan.volumes.map((v) => v.action), ['unchanged']);
  });

  it('restore --output json prints the result with its record', async () => {
    const r = await lifeboat('restore', ...hydrate, '--profile', 'dev', '--yes', '--include-kinds', 'ConfigMap', '--output', 'json');
    assert.equal(r.code, 0, r.stderr);
    const result = parseJson<RestoreResult>(r);
    assert.equal(result.complete, true);
    assert.equal(result.plan.target.context, 'sandbox-dev');
    assert.ok(result.record.every((e) => e.kind === 'ConfigMap' || e.kind === 'Namespace'), JSON.stringify(result.record));
  });

  it('restore-file writes a file of the volume into a local directory, byte for byte', async () => {
    const out = await mkdtemp(path.join(bed.work, 'files-'));
    const r = await lifeboat('restore-file', 'latest', 'shop/data-db-0', '/pgdata/postgresql.conf', '--to', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^restored 1 file\(s\)/);
    const source = await bed.prod.claimDir('shop', 'data-db-0');
    assert.ok(source);
    const written = (await readdir(out, { recursive: true })).map(String);
    const file = written.find((f) => f.endsWith('postgresql.conf'));
    assert.ok(file, `written: ${written.join(', ')}`);
    assert.deepEqual(await readFile(path.join(out, file)), await readFile(path.join(source, 'pgdata', 'postgresql.conf')));
  });

  it('restore-file refuses a bad target before doing anything', async () => {
    const r = await lifeboat('restore-file', 'latest', 'shop/data-db-0', '/pgdata', '--to', 'pvc:shop-dev');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pvc:\[CONTEXT\/\]NAMESPACE\/NAME/);
  });
});
