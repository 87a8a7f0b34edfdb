/**
 * Restore benchmark, on the sandbox clusters, in one run:
 *
 * 1. `lifeboat restore` of a namespace of N objects (ConfigMaps, Secrets,
 *    Services, Deployments) captured from prod, into dev, against
 *    `kubectl apply --server-side -f` of the same manifests into a fresh
 *    namespace of dev: the whole restore (plan, apply, verify), and its
 *    apply phase alone (the writes, as the restore logs it);
 * 2. recovery time of namespace shop with G GiB in its volume: delete the
 *    namespace, `lifeboat restore`, until every pod of shop is Running;
 * 3. `lifeboat plan` of the N objects against the restored namespace,
 *    against `kubectl diff --server-side` of the manifests against theirs.
 *
 *   npm run bench:restore                              # 10 000 objects, 1 GiB
 *   npm run bench:restore -- --objects 500 --gib 0.05  # quick smoke run
 *
 * Options: --objects N, --gib G, --out FILE (default
 * bench/results/restore.md; "-" to only print), --keep (the scratch folder).
 * Prints a markdown table and writes it to the results file. Asserts
 * nothing: the figures are for reading, the tests check behaviour.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset, treeBytes } from '../test/support/datagen';
import { buildCli, repoRoot, run, type RunResult } from '../test/support/proc';
import { startSandbox } from '../test/sandbox';
import { publishReport } from './report';

const MiB = 1024 * 1024;
const PASSWORD = 'bench-passphrase-not-secret';
const BULK = 'bulk';

function must(what: string, r: RunResult, okCodes = [0]): RunResult {
  if (r.code === null || !okCodes.includes(r.code)) {
    throw new Error(`${what} failed (exit ${r.code ?? r.signal}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`);
  }
  return r;
}

const fmt = {
  s: (ms: number) => `${(ms / 1000).toFixed(1)} s`,
  mib: (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`,
  rate: (n: number, ms: number) => `${(n / (ms / 1000)).toFixed(0)}/s`,
};

/**
 * The objects of the bulk namespace, as one multi-document manifest: 50 %
 * ConfigMaps, 30 % Secrets, 19.8 % Services, 0.2 % Deployments (0 replicas,
 * so the benchmark measures the API work of a restore, not pod start-up).
 * The Services have no selector and the Deployments are few: the sandbox's
 * endpoints and deployment controllers make a list request for each
 * Service and Deployment they reconcile, which at thousands of them (with
 * thousands of other objects) would measure the sandbox, not the tools.
 */
function bulkManifests(namespace: string, objects: number): string {
  const docs: string[] = [`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`];
  const kinds = [
    { share: 0.5, make: (i: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: ${namespace}\n  labels: { app: app-${i % 50} }\ndata:\n  settings.yaml: |\n    id: ${i}\n    level: info\n    peers: [a-${i % 7}, b-${i % 11}]\n` },
    { share: 0.3, make: (i: number) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-${i}\n  namespace: ${namespace}\ntype: Opaque\nstringData:\n  token: bench-token-${i}-${(i * 7919) % 100000}\n` },
    { share: 0.198, make: (i: number) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-${i}\n  namespace: ${namespace}\nspec:\n  ports: [{ name: http, port: 80, targetPort: 8080 }]\n` },
    {
      share: 0.002,
      make: (i: number) =>
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: deploy-${i}\n  namespace: ${namespace}\nspec:\n  replicas: 0\n  selector: { matchLabels: { app: deploy-${i} } }\n  template:\n    metadata: { labels: { app: deploy-${i} } }\n    spec:\n      containers: [{ name: app, image: "registry.example.com/app:1.${i % 10}", ports: [{ containerPort: 8080 }] }]\n`,
    },
  ];
  let made = 0;
  for (const [k, kind] of kinds.entries()) {
    const count = k === kinds.length - 1 ? objects - made : Math.round(objects * kind.share);
    for (let i = 0; i < count; i++) docs.push(kind.make(i));
    made += count;
  }
  return docs.join('---\n');
}

/**
 * What `lifeboat restore` says it did ("done: 10001 created"), whether
 * verify found it complete, and how long its apply phase (the writes,
 * between plan and verify) took by its own log ("apply done in 12.3 s").
 */
function summaryOf(r: RunResult): { done: string; complete: boolean; applyMs?: number } {
  const done = /^done: (.*)$/m.exec(r.stdout)?.[1] ?? 'no summary';
  const applied = /^lifeboat: apply done in ([\d.]+) s/m.exec(r.stderr);
  return { done, complete: /^restore into \S+ complete$/m.test(r.stdout), ...(applied ? { applyMs: Number(applied[1]) * 1000 } : {}) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      objects: { type: 'string', default: '10000' },
      gib: { type: 'string', default: '1' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const objects = Number(values.objects);
  const gib = Number(values.gib);
  if (!Number.isInteger(objects) || objects < 4) throw new Error(`--objects must be a whole number of at least 4, got "${values.objects}"`);
  if (!(gib > 0)) throw new Error(`--gib must be a positive number of GiB, got "${values.gib}"`);
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-restore-'));
  log(`starting the sandbox clusters (prod, dev) in ${scratch}`);
  const sandbox = await startSandbox({ clusters: ['prod', 'dev'], kubeconfigPath: path.join(scratch, 'kubeconfig'), dataDir: path.join(scratch, 'sandbox') });
  try {
    const env = { KUBECONFIG: sandbox.kubeconfigPath };
    const kubectl = (args: string[], timeoutMs = 60_000) => run('kubectl', args, { env, timeoutMs });
    const cliPath = await buildCli();
    const lbRepo = path.join(scratch, 'lifeboat-repo');
    const lb = (args: string[]) =>
      run(process.execPath, [cliPath, ...args, '--repo', lbRepo], { env: { ...env, LIFEBOAT_PASSWORD: PASSWORD }, measureMemory: true, timeoutMs: 3_600_000, maxOutput: 1024 * MiB });
    must('lifeboat repo init', await lb(['repo', 'init']));

    // --- 1. N objects: lifeboat restore against kubectl apply --server-side
    const manifests = path.join(scratch, 'bulk.yaml');
    await fs.writeFile(manifests, bulkManifests(BULK, objects));
    log(`creating ${objects} objects in namespace ${BULK} of prod (kubectl apply --server-side)`);
    const seeded = must('kubectl apply (prod)', await kubectl(['--context', 'sandbox-prod', 'apply', '--server-side', '--validate=false', '-f', manifests], 3_600_000));
    log(`  prod took ${fmt.s(seeded.wallMs)}`);
    log(`capturing namespace ${BULK}`);
    const captured = must('lifeboat capture', await lb(['capture', '--context', 'sandbox-prod', '-n', BULK, '--no-volumes', '--tag', BULK, '--output', 'json']));
    const bulkSnapshot = (JSON.parse(captured.stdout) as { snapshot: { id: string } }).snapshot.id;

    const kubectlTarget = `${BULK}-kubectl`;
    const kubectlManifests = path.join(scratch, 'bulk-kubectl.yaml');
    await fs.writeFile(kubectlManifests, bulkManifests(kubectlTarget, objects));
    log(`kubectl apply --server-side of the ${objects} objects into a fresh namespace ${kubectlTarget} of dev`);
    const kubectlApply = must('kubectl apply (dev)', await kubectl(['--context', 'sandbox-dev', 'apply', '--server-side', '--validate=false', '-f', kubectlManifests], 3_600_000));

    const restoreTarget = `${BULK}-restore`;
    const bulkRestore = [bulkSnapshot, '--to', 'sandbox-dev', '-n', BULK, '--namespace-mapping', `${BULK}:${restoreTarget}`];
    log(`lifeboat restore of the ${objects} objects into a fresh namespace ${restoreTarget} of dev`);
    // The text summary, as a person runs it: the JSON result of 10 000 objects holds every diff twice (plan and verify).
    const restore = must('lifeboat restore (bulk)', await lb(['restore', ...bulkRestore, '--yes']));
    const restoreResult = summaryOf(restore);
    const restored = (await kubectl(['--context', 'sandbox-dev', 'get', 'configmaps,secrets,services,deployments', '-n', restoreTarget, '-o', 'name'], 600_000)).stdout.split('\n').filter(Boolean).length;

    // --- 3. planning the N objects against what is there: lifeboat plan against kubectl diff
    log('lifeboat plan of the restored namespace (nothing to change)');
    const plan = must('lifeboat plan (bulk)', await lb(['plan', ...bulkRestore, '--output', 'json']));
    const planned = JSON.parse(plan.stdout) as { items: { action: string }[] };
    const unchanged = planned.items.filter((i) => i.action === 'unchanged').length;
    log('kubectl diff --server-side of the applied namespace (nothing to change)');
    // kubectl diff exits 1 when it finds differences: that is a result, not a failure.
    const diff = must('kubectl diff', await kubectl(['--context', 'sandbox-dev', 'diff', '--server-side', '-f', kubectlManifests], 3_600_000), [0, 1]);

    // --- 2. RTO of shop with G GiB of volume data
    const deadline = Date.now() + 120_000;
    while ((await kubectl(['--context', 'sandbox-prod', 'get', 'pod', 'db-0', '-n', 'shop', '-o', 'jsonpath={.status.phase}'])).stdout !== 'Running') {
      if (Date.now() > deadline) throw new Error('pod shop/db-0 did not reach Running within 2 minutes');
      await new Promise((r) => setTimeout(r, 200));
    }
    const claimDir = await sandbox.clusters.get('prod')!.claimDir('shop', 'data-db-0');
    if (!claimDir) throw new Error('claim shop/data-db-0 has no host directory: is it Bound?');
    log(`generating ${gib} GiB in shop/data-db-0`);
    const set = await generateDataset(path.join(claimDir, 'bench-data'), { totalBytes: gib * 1024 * MiB, seed: 2026 });
    const volumeBytes = await treeBytes(claimDir);
    log('capturing shop');
    must('lifeboat capture (shop)', await lb(['capture', '--context', 'sandbox-prod', '-n', 'shop', '--tag', 'shop']));
    log('deleting namespace shop');
    must('kubectl delete namespace shop', await kubectl(['--context', 'sandbox-prod', 'delete', 'namespace', 'shop', '--wait=true', '--timeout=300s'], 330_000));
    log('lifeboat restore of shop, then waiting for every pod to run');
    const t0 = Date.now();
    const shopRestore = must('lifeboat restore (shop)', await lb(['restore', 'latest', '--to', 'sandbox-prod', '-n', 'shop', '--yes']));
    const shopResult = summaryOf(shopRestore);
    let podsMs = 0;
    for (;;) {
      const pods = JSON.parse((await kubectl(['--context', 'sandbox-prod', 'get', 'pods', '-n', 'shop', '-o', 'json'])).stdout) as { items: { status?: { phase?: string } }[] };
      const running = pods.items.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Succeeded').length;
      if (pods.items.length > 0 && running === pods.items.length) {
        podsMs = Date.now() - t0;
        break;
      }
      if (Date.now() - t0 > 1_800_000) throw new Error(`shop's pods did not all run within 30 minutes after the restore (${running}/${pods.items.length})`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const applyMs = restoreResult.applyMs;
    const rows: string[][] = [
      [`restore of ${objects} objects into a fresh namespace (plan, apply, verify)`, fmt.s(restore.wallMs), fmt.s(kubectlApply.wallMs), (kubectlApply.wallMs / restore.wallMs).toFixed(2)],
      ['objects per second ↑', fmt.rate(objects, restore.wallMs), fmt.rate(objects, kubectlApply.wallMs), ''],
      [
        `apply phase alone (the ${objects} writes)`,
        applyMs === undefined ? 'not logged' : fmt.s(applyMs),
        fmt.s(kubectlApply.wallMs),
        applyMs === undefined ? '' : (kubectlApply.wallMs / applyMs).toFixed(2),
      ],
      [`plan of ${objects} objects, nothing to change`, fmt.s(plan.wallMs), fmt.s(diff.wallMs), (diff.wallMs / plan.wallMs).toFixed(2)],
      ['peak memory, restore (process tree RSS)', fmt.mib(restore.peakRssBytes ?? 0), '', ''],
    ];
    const cpus = os.cpus();
    const load = os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ');
    const kubectlVersion = (await run('kubectl', ['version', '--client', '-o', 'json'])).stdout;
    const kv = (JSON.parse(kubectlVersion || '{}') as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? 'unknown';
    const machine =
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ` +
      `Linux ${os.release()}, Node ${process.version}, kubectl ${kv}; load average at the end ${load} (1/5/15 min)`;
    const doc = [
      '## Restore',
      '',
      `\`npm run bench:restore -- --objects ${objects} --gib ${gib}\` (${new Date().toISOString().slice(0, 10)}), on the sandbox clusters ` +
        '(the same in-process API servers over HTTPS for both tools).',
      '',
      `Objects: namespace ${BULK} of prod holds ${objects} objects (50 % ConfigMaps, 30 % Secrets, 19.8 % Services without selector, 0.2 % Deployments with 0 replicas), ` +
        `captured with \`lifeboat capture -n ${BULK} --no-volumes\`. Lifeboat runs \`lifeboat restore SNAPSHOT --to sandbox-dev -n ${BULK} ` +
        `--namespace-mapping ${BULK}:${restoreTarget} --yes\` (read the snapshot, sanitise, plan with a server-side dry run of every object, ` +
        `apply in order, verify by planning again: ${restoreResult.done}, complete: ${restoreResult.complete ? 'yes' : 'no'}; ` +
        `${restored} objects in ${restoreTarget} afterwards; the apply phase row is the writes alone, between plan and verify, as the restore logs it — ` +
        `what \`kubectl apply\` does, without the plan and verify it does not do); kubectl runs \`kubectl apply --server-side -f\` of the same objects into ${kubectlTarget} ` +
        `(\`--validate=false\`: with its default validation kubectl stalled at this scale on the sandbox's OpenAPI document, which a real API server serves from a cache; no plan, no verify). The plan row compares \`lifeboat plan\` of the same restore once it is done (${unchanged} of ${planned.items.length} ` +
        `items unchanged) with \`kubectl diff --server-side -f\` of the manifests against ${kubectlTarget} (exit ${diff.code}). ` +
        'Ratios are kubectl time / Lifeboat time: above 1, Lifeboat is faster.',
      '',
      '| metric | Lifeboat | kubectl | ratio kubectl/Lifeboat |',
      '| --- | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
      `Recovery time of shop: its volume shop/data-db-0 holds ${fmt.mib(volumeBytes)} (the seeded PGDATA tree plus ${set.files} generated files; seed 2026). ` +
        'After `kubectl delete namespace shop`, `lifeboat restore latest --to sandbox-prod -n shop --yes` (objects, the volume written back ' +
        'through a mover pod, verify), then until every pod of shop is Running.',
      '',
      '| step | time |',
      '| --- | ---: |',
      `| lifeboat restore (complete: ${shopResult.complete ? 'yes' : 'no'}) | ${fmt.s(shopRestore.wallMs)} |`,
      `| until every pod of shop runs (RTO) | ${fmt.s(podsMs)} |`,
      `| volume data written per second | ${(volumeBytes / MiB / (shopRestore.wallMs / 1000)).toFixed(0)} MiB/s |`,
      `| peak memory, restore (process tree RSS) | ${fmt.mib(shopRestore.peakRssBytes ?? 0)} |`,
      '',
      `Machine: ${machine}.`,
      '',
    ].join('\n');
    await publishReport(doc, repoRoot, 'restore', values.out, log);
  } finally {
    await sandbox.stop();
    if (values.keep) log(`kept ${scratch}`);
    else await fs.rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:restore failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
