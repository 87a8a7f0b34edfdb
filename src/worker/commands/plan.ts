import type { ParseArgsConfig } from 'node:util';
import { logTo, type Logger } from '../../engine/log';
import { rateTracker } from '../../engine/progress';
import { planRestore } from '../../engine/restore';
import type { ExistingPolicy, RestoreRequest, RestoreSelection } from '../../engine/restore/types';
import { ExitCode, UsageError } from '../cli';
import { notice, printJson, printText } from '../output';
import { renderPlanDiff, renderPlanTable } from '../planRender';
import { progressDisplay, type ProgressDisplay } from '../progressBar';
import type { CliCommand } from './index';
import { cancellable, parseCommandArgs, parseCount, REPO_USAGE, runCommand, withRepository, type Parsed } from './repoAccess';

/**
 * `lifeboat plan`: what a restore of a snapshot into a context would do,
 * object by object, without writing anything. The options that choose what
 * is restored and how are shared with `lifeboat restore` (./restore).
 */

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options of both `plan` and `restore`. */
export const RESTORE_OPTIONS: Options = {
  to: { type: 'string' },
  kubeconfig: { type: 'string' },
  profile: { type: 'string' },
  'profiles-dir': { type: 'string' },
  'namespace-mapping': { type: 'string', multiple: true },
  namespace: { type: 'string', short: 'n', multiple: true },
  'exclude-namespace': { type: 'string', multiple: true },
  'include-kinds': { type: 'string', multiple: true },
  'exclude-kinds': { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  selector: { type: 'string', short: 'l' },
  object: { type: 'string' },
  pvc: { type: 'string' },
  'cluster-resources': { type: 'string' },
  'no-volumes': { type: 'boolean' },
  existing: { type: 'string' },
  'mover-image': { type: 'string' },
  parallelism: { type: 'string' },
  'production-pattern': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
};

export const RESTORE_USAGE = `SNAPSHOT --to CONTEXT [--kubeconfig FILE] [--profile P] [--namespace-mapping SRC:DST …] [selection]
       [--existing skip|update|recreate] --repo …

  SNAPSHOT                       id, unique id prefix, or "latest"
  --to CONTEXT                   kubeconfig context to restore into
  --kubeconfig FILE              default: $KUBECONFIG or ~/.kube/config
  --profile P                    dr (default: as it was), dev, a profile name in
                                 the profiles folder, or a YAML file
  --profiles-dir DIR             where named profiles are (default .lifeboat/profiles)
  --namespace-mapping SRC:DST    restore namespace SRC as DST (repeatable)
  --existing POLICY              objects already there: skip, update (default), recreate

Selection (default: everything in the snapshot):
  -n, --namespace NS             source namespaces (globs; repeat or comma-separate)
  --exclude-namespace NS         namespaces to leave out (globs)
  --include-kinds KINDS          only these kinds (Deployment, deployments, deploy)
  --exclude-kinds KINDS          leave these kinds out
  --name GLOB                    object names (globs)
  -l, --selector SELECTOR        label selector
  --object KIND/NAMESPACE/NAME   exactly one object (KIND/NAME when cluster-scoped;
                                 KIND.GROUP for a kind of another group)
  --pvc NAMESPACE/NAME           exactly one PVC, with its data
  --cluster-resources WHICH      related (default), all, none
  --no-volumes                   objects only: no volume data

  --mover-image IMAGE            image of the pod that writes volume data (needs tar)
  --parallelism N                concurrent API requests and volume writes
  --production-pattern REGEX     contexts that count as production (default: prod)
  -v, --verbose                  log each step to stderr
  ${REPO_USAGE}`;

/** Repeatable options also take comma-separated lists: `-n shop,billing` or `-n shop -n billing`. */
function list(values: Parsed['values'], name: string): string[] | undefined {
  const raw = values[name] as string[] | undefined;
  if (!raw) return undefined;
  const items = raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function namespaceMapping(values: Parsed['values']): Record<string, string> | undefined {
  const pairs = list(values, 'namespace-mapping');
  if (!pairs) return undefined;
  const mapping: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([^:]+):([^:]+)$/.exec(pair);
    if (!m || !NAME_RE.test(m[1]) || !NAME_RE.test(m[2])) {
      throw new UsageError(`--namespace-mapping takes SOURCE:TARGET namespace names, like shop:shop-dev, not "${pair}"`);
    }
    mapping[m[1]] = m[2];
  }
  return mapping;
}

/** `Deployment/shop/web`, `deployment.apps/shop/web`, `Namespace/shop`. */
export function parseObjectRef(value: string): NonNullable<RestoreSelection['object']> {
  const parts = value.split('/');
  if ((parts.length !== 2 && parts.length !== 3) || parts.some((p) => p === '')) {
    throw new UsageError(`--object takes KIND/NAMESPACE/NAME, or KIND/NAME for a cluster-scoped object, not "${value}"`);
  }
  const [kindPart, ...rest] = parts;
  const dot = kindPart.indexOf('.');
  const kind = dot < 0 ? kindPart : kindPart.slice(0, dot);
  const group = dot < 0 ? undefined : kindPart.slice(dot + 1);
  const ref = rest.length === 2 ? { kind, namespace: rest[0], name: rest[1] } : { kind, name: rest[0] };
  return group === undefined ? ref : { group, ...ref };
}

function parsePvc(value: string): { namespace: string; name: string } {
  const m = /^([^/]+)\/([^/]+)$/.exec(value);
  if (!m || !NAME_RE.test(m[1]) || !NAME_RE.test(m[2])) throw new UsageError(`--pvc takes NAMESPACE/NAME, not "${value}"`);
  return { namespace: m[1], name: m[2] };
}

function oneOf<T extends string>(values: Parsed['values'], name: string, allowed: readonly T[]): T | undefined {
  const v = values[name] as string | undefined;
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be ${allowed.join(', ')}, not "${v}"`);
  return v as T;
}

/** The restore request the options describe. */
export function restoreRequestFrom(snapshot: string, values: Parsed['values']): RestoreRequest {
  const context = values.to as string | undefined;
  if (!context) throw new UsageError('missing --to CONTEXT: name the kubeconfig context to restore into');
  const selection: RestoreSelection = {
    namespaces: list(values, 'namespace'),
    excludeNamespaces: list(values, 'exclude-namespace'),
    includeKinds: list(values, 'include-kinds'),
    excludeKinds: list(values, 'exclude-kinds'),
    names: list(values, 'name'),
    selector: values.selector as string | undefined,
    object: values.object === undefined ? undefined : parseObjectRef(values.object as string),
    pvc: values.pvc === undefined ? undefined : parsePvc(values.pvc as string),
    clusterResources: oneOf(values, 'cluster-resources', ['related', 'all', 'none'] as const),
    volumes: values['no-volumes'] === true ? false : undefined,
  };
  if (selection.object && selection.pvc) throw new UsageError('--object and --pvc exclude each other: give one of them');
  const pattern = values['production-pattern'] as string | undefined;
  if (pattern !== undefined) {
    try {
      new RegExp(pattern);
    } catch (err) {
      throw new UsageError(`--production-pattern is not a regular expression: ${(err as Error).message}`);
    }
  }
  const request: RestoreRequest = {
    snapshot,
    kubeconfig: values.kubeconfig as string | undefined,
    context,
    selection: Object.fromEntries(Object.entries(selection).filter(([, v]) => v !== undefined)) as RestoreSelection,
    profile: values.profile as string | undefined,
    profilesDir: values['profiles-dir'] as string | undefined,
    namespaceMapping: namespaceMapping(values),
    existing: oneOf<ExistingPolicy>(values, 'existing', ['skip', 'update', 'recreate']),
    moverImage: values['mover-image'] as string | undefined,
    parallelism: parseCount(values, 'parallelism'),
    productionPattern: pattern,
  };
  return Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined)) as RestoreRequest;
}

/**
 * Where a restore command's logs and progress go: stderr, so stdout holds
 * only the plan or result. Warnings and errors always show; info records
 * (each write of an apply) show when `everyStep` is set.
 */
export function restoreConsole(values: Parsed['values'], everyStep: boolean): { log: Logger; display: ProgressDisplay; onProgress: (p: Parameters<ProgressDisplay['update']>[0]) => void } {
  const display = progressDisplay(process.stderr);
  const withRate = rateTracker();
  const verbose = values.verbose === true;
  const log = logTo((r) => {
    if (r.level === 'debug' && !verbose) return;
    if (r.level === 'info' && !everyStep && !verbose) return;
    display.clear();
    const fields = verbose && r.fields ? ` ${JSON.stringify(r.fields)}` : '';
    notice(`${r.message}${fields}`);
  });
  return { log, display, onProgress: (p) => display.update(withRate(p)) };
}

/**
 * `--output diff` is a format of this command only: taken out before the
 * common option parsing, which knows json and table.
 */
function takeDiffFormat(args: string[]): { args: string[]; diff: boolean } {
  const out: string[] = [];
  let diff = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === '--output' || a === '-o') && args[i + 1] === 'diff') {
      diff = true;
      i++;
    } else if (a === '--output=diff' || a === '-o=diff') diff = true;
    else out.push(a);
  }
  return { args: out, diff };
}

const plan: CliCommand = {
  name: 'plan',
  summary: 'Show what restoring a snapshot into a context would do, object by object (writes nothing)',
  usage: `${RESTORE_USAGE}
  --output diff                  the unified diff of each object that would change
                                 (Secret values never appear)

Exit status: 0 plan shown, 1 failed, 2 bad command line, 130 cancelled.`,
  run: async (argv) => {
    const { args, diff } = takeDiffFormat(argv);
    const { values, positionals, format } = parseCommandArgs(args, RESTORE_OPTIONS, { min: 1, max: 1, names: 'SNAPSHOT' });
    const request = restoreRequestFrom(positionals[0], values);
    return runCommand('plan', format, () =>
      withRepository(values, (repo) =>
        cancellable(async (signal) => {
          const { log, display, onProgress } = restoreConsole(values, false);
          let result;
          try {
            result = await planRestore(request, { repo, signal, log, onProgress });
          } finally {
            display.done();
          }
          const color = process.stdout.isTTY === true;
          if (diff) printText(renderPlanDiff(result, { color }));
          else if (format === 'json') printJson(result);
          else printText(renderPlanTable(result, { color }));
          return ExitCode.ok;
        }),
      ),
    );
  },
};

export const planCommands: CliCommand[] = [plan];
