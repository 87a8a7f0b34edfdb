import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseConfig } from '../../engine/repo/config';
import { KEYS } from '../../engine/repo/format';
import { Repository } from '../../engine/repo/repository';
import { NotFoundError, openBackend, type StorageBackend } from '../../engine/storage';
import { jobController } from '../../engine/progress';
import { ExitCode, UsageError } from '../cli';
import { notice, parseOutputFormat, printJson, type OutputFormat } from '../output';
import { PASSWORD_ENV, PromptCancelledError, readPassphrase } from '../passphrase';

/**
 * What every repository command shares: the `--repo` and `--output`
 * options, opening the repository with its passphrase, and turning errors
 * into messages and exit codes.
 */

export const REPOSITORY_ENV = 'LIFEBOAT_REPOSITORY';

export const REPO_USAGE = `--repo PATH|s3://BUCKET/PREFIX   repository (or set ${REPOSITORY_ENV})
  --output json|table             json: one JSON document on stdout
The passphrase comes from ${PASSWORD_ENV}, or a prompt at a terminal.`;

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  repo: { type: 'string', short: 'r' },
  output: { type: 'string', short: 'o' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  format: OutputFormat;
}

export function parseCommandArgs(args: string[], options: Options, positionals: { min: number; max: number; names: string }): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError(`missing ${positionals.names}`);
  if (count > positionals.max) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`);
  let format: OutputFormat;
  try {
    format = parseOutputFormat(parsed.values.output as string | undefined);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { values: parsed.values as Parsed['values'], positionals: parsed.positionals, format };
}

export function repositoryLocation(values: Parsed['values']): string {
  const location = (values.repo as string | undefined) ?? process.env[REPOSITORY_ENV];
  if (!location) throw new UsageError(`no repository given: pass --repo PATH or --repo s3://BUCKET/PREFIX, or set ${REPOSITORY_ENV}`);
  return location;
}

export function backendFor(values: Parsed['values']): StorageBackend {
  const location = repositoryLocation(values);
  try {
    return openBackend(location);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Opens the repository, asking for the passphrase only when it is encrypted. */
export async function openRepository(values: Parsed['values']): Promise<Repository> {
  const backend = backendFor(values);
  let encrypted = true;
  try {
    encrypted = parseConfig(await backend.get(KEYS.config), backend.location).pub.encrypted;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    // No config: not a repository. Ask for no passphrase; open() words the error.
    encrypted = false;
  }
  const passphrase = encrypted ? await readPassphrase({ env: PASSWORD_ENV, purpose: `the passphrase of ${backend.location}` }) : undefined;
  return Repository.open(backend, { passphrase });
}

/** Runs a command body, reporting failures as a message and an exit code. */
export async function runCommand(name: string, format: OutputFormat, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof PromptCancelledError || (err as Error).name === 'CancelledError') {
      notice(`${name}: cancelled`);
      return ExitCode.cancelled;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (format === 'json') printJson({ error: { message } });
    process.stderr.write(`lifeboat ${name}: ${message}\n`);
    return ExitCode.failure;
  }
}

/** Runs `body` with the repository open, closing it afterwards. */
export async function withRepository(values: Parsed['values'], body: (repo: Repository) => Promise<number>): Promise<number> {
  const repo = await openRepository(values);
  try {
    return await body(repo);
  } finally {
    await repo.close();
  }
}

/**
 * Ctrl-C during a long command: the first one asks the command to stop
 * cleanly (abort, release locks); a second one exits at once.
 */
export async function cancellable<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = jobController();
  let presses = 0;
  const onSigint = (): void => {
    presses++;
    if (presses === 1) {
      notice('interrupted: stopping (press Ctrl-C again to exit at once)');
      controller.abort();
    } else {
      process.exit(ExitCode.cancelled);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    return await body(controller.signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
  }
}

export { CancelledError } from '../../engine/progress';

export function parseCount(values: Parsed['values'], name: string): number | undefined {
  const v = values[name] as string | undefined;
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} needs a whole number, not "${v}"`);
  return Number(v);
}

export function parseVolume(value: string | undefined): { namespace: string; pvc: string } {
  if (!value) throw new UsageError('missing --volume NAMESPACE/PVC');
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(value);
  if (!m) throw new UsageError(`--volume must be NAMESPACE/PVC (Kubernetes names), not "${value}"`);
  return { namespace: m[1], pvc: m[3] };
}
