import { ResponseError, ErrorCodes as RpcErrorCodes } from 'vscode-jsonrpc';
import { NotARepositoryError, UnsupportedFormatError, WrongPassphraseError } from '../../engine/repo/format';
import { LockConflictError } from '../../engine/repo/lock';
import { SnapshotNotFoundError } from '../../engine/repo/snapshotReader';
import { NotFoundError } from '../../engine/storage';
import { InvalidParamsError } from '../../protocol/validate';
import { ErrorCodes } from '../../protocol/worker';
import { PassphraseRequiredError, RepositoryLocationError } from './repository';

/**
 * Turning a job's failure into the answer the client gets: a code it can act
 * on (ask for the passphrase again, offer to retry after a lock) and a
 * message for the user, with every secret of the request scrubbed from it.
 */

const REDACTED = '[redacted]';

/** Replaces each secret in `text`; secrets shorter than 4 characters are left, as they would match ordinary words. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(REDACTED);
  return out;
}

/** `redact` through a JSON-shaped value (log records and their fields): strings anywhere in it, keys included. */
export function redactValue<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    // As JSON would send it (a Date as its ISO string).
    if (v && typeof (v as { toJSON?: unknown }).toJSON === 'function') return walk((v as { toJSON(): unknown }).toJSON());
    if (v instanceof Error) return redact(v.message, secrets);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k, secrets), walk(x)]));
    return v;
  };
  return walk(value) as T;
}

export function isCancellation(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  return name === 'CancelledError' || name === 'AbortError';
}

function codeOf(err: unknown): number {
  if (isCancellation(err)) return ErrorCodes.cancelled;
  if (err instanceof InvalidParamsError) return RpcErrorCodes.InvalidParams;
  if (err instanceof RepositoryLocationError || err instanceof UnsupportedFormatError) return ErrorCodes.usage;
  if (err instanceof NotARepositoryError || err instanceof SnapshotNotFoundError || err instanceof NotFoundError) return ErrorCodes.notFound;
  if (err instanceof LockConflictError) return ErrorCodes.locked;
  if (err instanceof WrongPassphraseError || err instanceof PassphraseRequiredError) return ErrorCodes.passphrase;
  return ErrorCodes.failure;
}

export function toResponseError(err: unknown, secrets: readonly string[]): ResponseError<void> {
  if (err instanceof ResponseError) return new ResponseError(err.code, redact(err.message, secrets));
  const code = codeOf(err);
  const message = code === ErrorCodes.cancelled ? 'cancelled' : err instanceof Error ? err.message : String(err);
  return new ResponseError(code, redact(message || 'failed without a message', secrets));
}
