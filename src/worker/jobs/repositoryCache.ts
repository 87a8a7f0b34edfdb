import { createHash } from 'node:crypto';
import { ResponseError } from 'vscode-jsonrpc';
import type { Repository } from '../../engine/repo/repository';
import type { RepositoryRef } from '../../protocol/worker';
import { isCancellation } from './errors';
import { openRepositoryRef } from './repository';

/**
 * Repositories kept open between browsing requests. Opening one derives
 * the key from the passphrase (scrypt, a noticeable fraction of a second
 * by design) and loads the index; the Snapshots view and the editor send
 * many small reads in a row, so an opened repository serves the next ones
 * until it has been idle for a minute.
 *
 * A kept repository's index does not see packs written since it was opened
 * (a capture that just finished) nor packs a prune removed, so a read that
 * fails on a kept repository is tried once more on a freshly opened one.
 */

const IDLE_MS = 60_000;

interface Entry {
  repo: Promise<Repository>;
  users: number;
  retired: boolean;
  timer?: NodeJS.Timeout;
}

const entries = new Map<string, Entry>();

/** Same location and same credentials; the hash keeps the passphrase itself out of the map's keys. */
function keyOf(ref: RepositoryRef): string {
  return createHash('sha256')
    .update(JSON.stringify([ref.location, ref.passphrase ?? '', ref.s3 ?? {}]))
    .digest('hex');
}

function close(entry: Entry): void {
  entry.repo.then((r) => r.close()).catch(() => undefined);
}

function retire(key: string, entry: Entry): void {
  if (entries.get(key) === entry) entries.delete(key);
  if (entry.retired) return;
  entry.retired = true;
  if (entry.timer) clearTimeout(entry.timer);
  if (entry.users === 0) close(entry);
}

function open(key: string, ref: RepositoryRef): Entry {
  const entry: Entry = { repo: openRepositoryRef(ref), users: 0, retired: false };
  entries.set(key, entry);
  // A wrong passphrase or a missing repository is not kept.
  entry.repo.catch(() => retire(key, entry));
  return entry;
}

async function use<T>(key: string, entry: Entry, body: (repo: Repository) => Promise<T>): Promise<T> {
  entry.users++;
  if (entry.timer) clearTimeout(entry.timer);
  try {
    return await body(await entry.repo);
  } finally {
    entry.users--;
    if (entry.users === 0) {
      if (entry.retired) close(entry);
      else entry.timer = setTimeout(() => retire(key, entry), IDLE_MS).unref();
    }
  }
}

/** Runs a read-only `body` on the repository, opened now or kept from an earlier request. */
export async function withKeptRepository<T>(ref: RepositoryRef, body: (repo: Repository) => Promise<T>): Promise<T> {
  const key = keyOf(ref);
  const kept = entries.get(key);
  if (!kept) return use(key, open(key, ref), body);
  try {
    return await use(key, kept, body);
  } catch (err) {
    // Answers already meant for the user (a file too large) and cancellations are final.
    if (isCancellation(err) || err instanceof ResponseError) throw err;
    retire(key, kept);
    return use(key, entries.get(key) ?? open(key, ref), body);
  }
}
