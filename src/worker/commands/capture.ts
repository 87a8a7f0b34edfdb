import { runCapture } from '../../engine/capture/capture';
import type { CaptureRequest, EtcdTarget } from '../../engine/capture/types';
import { logTo } from '../../engine/log';
import { rateTracker } from '../../engine/progress';
import { ExitCode, UsageError } from '../cli';
import { emit, formatBytes, formatDuration, notice } from '../output';
import { progressDisplay } from '../progressBar';
import type { CliCommand } from './index';
import { cancellable, parseCommandArgs, parseCount, REPO_USAGE, runCommand, withRepository, type Parsed } from './repoAccess';

/** `lifeboat capture`: the same engine the VS Code extension drives through the worker. */

/** Repeatable options also take comma-separated lists: `-n shop,billing` or `-n shop -n billing`. */
function list(values: Parsed['values'], name: string): string[] | undefined {
  const raw = values[name] as string[] | undefined;
  if (!raw) return undefined;
  const items = raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

function etcdTarget(values: Parsed['values']): EtcdTarget | undefined {
  const endpoints = list(values, 'etcd-endpoints');
  const files = { caFile: values['etcd-cacert'], certFile: values['etcd-cert'], keyFile: values['etcd-key'] } as Record<string, string | undefined>;
  if (!endpoints) {
    const given = Object.entries(files).find(([, v]) => v !== undefined);
    if (given) throw new UsageError('--etcd-cacert, --etcd-cert and --etcd-key need --etcd-endpoints');
    return undefined;
  }
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) throw new UsageError(`--etcd-endpoints: "${e}" is not an endpoint URL like https://10.0.0.1:2379`);
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) throw new UsageError('--etcd-cert and --etcd-key go together');
  return { endpoints, ...Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)) };
}

export function captureRequestFrom(values: Parsed['values']): CaptureRequest {
  const scope: CaptureRequest['scope'] = {
    namespaces: list(values, 'namespace'),
    excludeNamespaces: list(values, 'exclude-namespace'),
    includeKinds: list(values, 'include-kinds'),
    excludeKinds: list(values, 'exclude-kinds'),
    selector: values.selector as string | undefined,
    tagged: values.tagged === true,
  };
  for (const key of Object.keys(scope) as (keyof typeof scope)[]) if (scope[key] === undefined || scope[key] === false) delete scope[key];
  return {
    kubeconfig: values.kubeconfig as string | undefined,
    context: values.context as string | undefined,
    scope,
    volumes: values['no-volumes'] !== true,
    moverImage: values['mover-image'] as string | undefined,
    etcd: etcdTarget(values),
    tags: list(values, 'tag'),
    parallelism: parseCount(values, 'parallelism'),
  };
}

const capture: CliCommand = {
  name: 'capture',
  summary: 'Capture Kubernetes objects, volume data and etcd into a new snapshot',
  usage: `[--context NAME] [--kubeconfig FILE] [scope] [--no-volumes] [--etcd-endpoints URLS …] --repo … [--tag TAG] [--output json]

Scope (default: the whole cluster):
  -n, --namespace NS           namespaces to capture (globs; repeat or comma-separate)
  --exclude-namespace NS       namespaces to leave out (globs)
  --include-kinds KINDS        only these kinds (Deployment, deployments, deployments.apps, deploy)
  --exclude-kinds KINDS        leave these kinds out
  -l, --selector SELECTOR      label selector for namespaced objects
  --tagged                     objects annotated lifeboat.dev/backup=true and what they need

Volumes:
  --volumes / --no-volumes     read the data of PVCs in scope (default: yes)
  --mover-image IMAGE          image of the pod that reads a volume (needs tar)

etcd (self-managed clusters):
  --etcd-endpoints URLS        https://HOST:2379,... (the first healthy one is used)
  --etcd-cacert FILE  --etcd-cert FILE  --etcd-key FILE

  --context NAME               kubeconfig context (default: the current one)
  --kubeconfig FILE            default: $KUBECONFIG or ~/.kube/config
  --tag TAG                    label the snapshot (repeatable)
  --parallelism N              concurrent API requests and volume reads
  -v, --verbose                log each step (objects listed, movers, hooks) to stderr
  ${REPO_USAGE}

Exit status: 0 snapshot written (warnings, if any, are listed), 1 failed (no snapshot), 2 bad command line, 130 cancelled (no snapshot).`,
  run: async (args) => {
    const { values, format } = parseCommandArgs(
      args,
      {
        context: { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', short: 'n', multiple: true },
        'exclude-namespace': { type: 'string', multiple: true },
        'include-kinds': { type: 'string', multiple: true },
        'exclude-kinds': { type: 'string', multiple: true },
        selector: { type: 'string', short: 'l' },
        tagged: { type: 'boolean' },
        volumes: { type: 'boolean' },
        'no-volumes': { type: 'boolean' },
        'mover-image': { type: 'string' },
        'etcd-endpoints': { type: 'string', multiple: true },
        'etcd-cacert': { type: 'string' },
        'etcd-cert': { type: 'string' },
        'etcd-key': { type: 'string' },
        tag: { type: 'string', multiple: true },
        parallelism: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
      },
      { min: 0, max: 0, names: '' },
    );
    if (values.volumes === true && values['no-volumes'] === true) throw new UsageError('--volumes and --no-volumes exclude each other: give one of them');
    const request = captureRequestFrom(values);
    return runCommand('capture', format, () =>
      withRepository(values, (repo) =>
        cancellable(async (signal) => {
          const display = progressDisplay(process.stderr);
          const withRate = rateTracker();
          const log = logTo((r) => {
            if (r.level === 'debug' || (r.level === 'info' && values.verbose !== true)) return;
            display.clear();
            const fields = values.verbose === true && r.fields ? ` ${JSON.stringify(r.fields)}` : '';
            notice(`${r.message}${fields}`);
          });
          let result;
          try {
            result = await runCapture(request, { repo, signal, log, onProgress: (p) => display.update(withRate(p)) });
          } finally {
            display.done();
          }
          const s = result.snapshot;
          emit(format, result, () => {
            const lines = [
              `snapshot ${s.id.slice(0, 12)} of ${s.cluster} written in ${formatDuration(s.durationMs)}`,
              `  ${s.counts.resources} object(s), ${s.counts.volumes} volume(s) with ${s.counts.files} file(s), ${s.counts.data} data stream(s)`,
              `  ${formatBytes(s.sizes.bytes)} captured, ${formatBytes(s.sizes.added)} new in the repository`,
            ];
            for (const w of result.warnings) lines.push(`  warning: ${w}`);
            return lines.join('\n');
          });
          return ExitCode.ok;
        }),
      ),
    );
  },
};

export const captureCommands: CliCommand[] = [capture];
