/**
 * `npm run sandbox`: starts the prod and dev sandbox clusters, seeds prod
 * with the sample application, writes a kubeconfig and serves until
 * interrupted. Run with --help for the options.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { startSandbox, type Sandbox, type ScaleOptions } from './index';

const repoRoot = path.resolve(__dirname, '..', '..');

const HELP = `Usage: npm run sandbox -- [options]

Starts two Kubernetes-API-compatible sandbox clusters (prod, dev) on
loopback, seeds prod with a sample shop application (namespaces shop and
billing, with real files in their volumes), writes a kubeconfig and serves
until Ctrl-C. Everything it created is removed when it stops.

Options:
  --kubeconfig FILE      where to write the kubeconfig
                         (default: .lifeboat-sandbox/kubeconfig in the repository)
  --etcd URL             keep objects in etcd at URL (e.g. http://127.0.0.1:2379)
                         instead of memory
  --scale N,M,G          also create N namespaces with M objects each and
                         G GiB of volume data (e.g. --scale 20,200,2)
  --namespaces N         the same, one figure at a time
  --objects M
  --volume-gib G
  --data-dir DIR         keep volume data in DIR/<cluster> (kept on stop; with
                         --etcd, a restart finds objects and volumes again)
  --no-seed              start empty clusters
  --help                 show this text
`;

interface Args {
  kubeconfig: string;
  etcd?: string;
  dataDir?: string;
  seed: boolean;
  scale?: ScaleOptions;
}

class UsageError extends Error {}

function number(flag: string, value: string | undefined, integer: boolean): number {
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new UsageError(`${flag}: "${value}" is not a ${integer ? 'whole ' : ''}number ≥ 0`);
  return n;
}

function parseArgs(argv: string[]): Args | 'help' {
  const args: Args = { kubeconfig: path.join(repoRoot, '.lifeboat-sandbox', 'kubeconfig'), seed: true };
  const scale: Partial<ScaleOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--kubeconfig':
        args.kubeconfig = path.resolve(value());
        break;
      case '--etcd': {
        const url = value();
        if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--etcd: "${url}" is not an etcd client URL like http://127.0.0.1:2379`);
        args.etcd = url;
        break;
      }
      case '--data-dir':
        args.dataDir = path.resolve(value());
        break;
      case '--no-seed':
        args.seed = false;
        break;
      case '--scale': {
        const parts = value().split(',');
        if (parts.length !== 3) throw new UsageError('--scale takes N,M,G: namespaces, objects per namespace, GiB of volume data (e.g. 20,200,2)');
        scale.namespaces = number('--scale N', parts[0], true);
        scale.objects = number('--scale M', parts[1], true);
        scale.volumeGiB = number('--scale G', parts[2], false);
        break;
      }
      case '--namespaces':
        scale.namespaces = number(flag, argv[++i], true);
        break;
      case '--objects':
        scale.objects = number(flag, argv[++i], true);
        break;
      case '--volume-gib':
        scale.volumeGiB = number(flag, argv[++i], false);
        break;
      default:
        throw new UsageError(`unknown option "${flag}"`);
    }
  }
  if (scale.namespaces !== undefined || scale.objects !== undefined || scale.volumeGiB !== undefined) {
    args.scale = { namespaces: scale.namespaces ?? 10, objects: scale.objects ?? 50, volumeGiB: scale.volumeGiB ?? 0 };
    if (args.scale.volumeGiB > 0 && args.scale.namespaces === 0) throw new UsageError('--volume-gib needs at least one namespace (--namespaces N)');
  }
  return args;
}

async function main(): Promise<void> {
  let args: Args | 'help';
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sandbox: ${err.message}\nRun with --help for the options.\n`);
      process.exit(2);
    }
    throw err;
  }
  if (args === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const { kubeconfig } = args;
  let stopping = false;
  const started = Date.now();
  process.stdout.write(`sandbox: starting clusters prod and dev${args.etcd ? ` (objects in etcd at ${args.etcd})` : ''}${args.seed ? ', seeding prod' : ''}…\n`);
  const starting: Promise<Sandbox> = startSandbox({
    kubeconfigPath: kubeconfig,
    etcd: args.etcd,
    dataDir: args.dataDir,
    seed: args.seed,
    scale: args.scale,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\nsandbox: ${signal}, stopping\n`);
    // A signal during startup still cleans up what was started.
    const running = await starting.catch(() => undefined);
    await running?.stop();
    await rm(kubeconfig, { force: true });
    process.stdout.write('sandbox stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const sandbox = await starting;
  if (stopping) return;
  const rel = path.relative(process.cwd(), kubeconfig) || kubeconfig;
  const lines = [
    '',
    `Clusters (started in ${((Date.now() - started) / 1000).toFixed(1)}s):`,
    ...[...sandbox.clusters.values()].map((c) => `  ${c.name.padEnd(6)} ${c.url}   data: ${c.dataDir}`),
    '',
    `Kubeconfig: ${kubeconfig}`,
    `  contexts: ${sandbox.contexts.join(', ')} (current: sandbox-prod)`,
    '  the -restricted contexts may read everything but Secrets and write nothing',
    '',
    'Try:',
    `  export KUBECONFIG=${rel.startsWith('..') ? kubeconfig : rel}`,
    '  kubectl get nodes',
    '  kubectl get deploy,sts,pvc,pods -n shop',
    "  kubectl exec -n shop db-0 -- ls -la /var/lib/postgresql/data/pgdata",
    '  kubectl --context sandbox-dev get namespaces',
    '  kubectl --context sandbox-prod-restricted get secrets -n shop   # forbidden',
    '',
    args.dataDir ? `Press Ctrl-C to stop (volume data stays in ${args.dataDir}).` : 'Press Ctrl-C to stop (all sandbox data is removed).',
    'sandbox ready',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
