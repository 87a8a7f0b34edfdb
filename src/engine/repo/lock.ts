import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import type { Repository } from './repository';

/**
 * Repository locks. Writers that only add (capture, verify) share the
 * repository; prune, which deletes, needs it alone. A lock is a write-once
 * file: refreshing writes a new file and removes the old one, so locks work
 * on object-lock buckets and never need an overwrite.
 */

export const LOCK_VERSION = 1;
/** A lock not refreshed for this long belongs to a writer that is gone. */
export const DEFAULT_LOCK_TTL_MS = 30 * 60_000;
export const DEFAULT_LOCK_REFRESH_MS = 5 * 60_000;

export interface LockInfo {
  version: number;
  exclusive: boolean;
  purpose: string;
  host: string;
  pid: number;
  user: string;
  /** When the lock was first taken (ISO 8601). */
  time: string;
  /** When this lock file was written. */
  written: string;
  /** After this, the lock is stale unless refreshed. */
  expires: string;
}

export interface LockOptions {
  exclusive: boolean;
  purpose: string;
  ttlMs?: number;
  refreshMs?: number;
  /** Told about stale locks removed on the way. */
  onNotice?: (message: string) => void;
}

export class LockConflictError extends Error {
  constructor(
    readonly holder: LockInfo,
    readonly wanted: { exclusive: boolean; purpose: string },
    location: string,
  ) {
    super(
      `cannot ${wanted.purpose}: the repository ${location} is locked ${holder.exclusive ? 'exclusively' : '(shared)'} ` +
        `for "${holder.purpose}" by ${holder.user}@${holder.host} pid ${holder.pid} since ${holder.time}. ` +
        `Wait for that to finish and retry. If that process no longer runs, run "lifeboat repo unlock" ` +
        `(the lock also expires by itself at ${holder.expires}).`,
    );
    this.name = 'LockConflictError';
  }
}

function describe(info: LockInfo): string {
  return `"${info.purpose}" (${info.exclusive ? 'exclusive' : 'shared'}) by ${info.user}@${info.host} pid ${info.pid} since ${info.time}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a lock is stale, or undefined when it is live. */
export function staleReason(info: LockInfo, now = Date.now()): string | undefined {
  if (Date.parse(info.expires) < now) return `expired at ${info.expires}`;
  if (info.host === os.hostname() && info.pid !== process.pid && !pidAlive(info.pid)) {
    return `process ${info.pid} no longer runs on this host`;
  }
  return undefined;
}

export interface ExistingLock {
  name: string;
  /** Undefined when the file could not be read or parsed. */
  info?: LockInfo;
  problem?: string;
}

export async function listLocks(repo: Repository): Promise<ExistingLock[]> {
  const out: ExistingLock[] = [];
  for await (const name of repo.listFiles('locks')) {
    try {
      const info = JSON.parse((await repo.readFile('locks', name)).toString('utf8')) as LockInfo;
      if (typeof info.expires !== 'string' || typeof info.exclusive !== 'boolean') throw new Error('not a lock record');
      out.push({ name, info });
    } catch (err) {
      // Removed between list and read: it was released, not a problem.
      if ((err as Error).name === 'NotFoundError') continue;
      out.push({ name, problem: (err as Error).message });
    }
  }
  return out;
}

/**
 * Removes stale locks (expired, or held by a dead process on this host), and
 * unreadable lock files. With `all`, removes every lock: only for when the
 * user knows no other process uses the repository.
 */
export async function removeStaleLocks(
  repo: Repository,
  options: { all?: boolean; except?: string } = {},
): Promise<Array<{ name: string; description: string; reason: string }>> {
  const removed: Array<{ name: string; description: string; reason: string }> = [];
  for (const lock of await listLocks(repo)) {
    if (lock.name === options.except) continue;
    const reason = lock.info ? (options.all ? 'removed on request' : staleReason(lock.info)) : `unreadable (${lock.problem})`;
    if (!reason) continue;
    await repo.deleteFile('locks', lock.name);
    removed.push({ name: lock.name, description: lock.info ? describe(lock.info) : 'unreadable lock file', reason });
  }
  return removed;
}

export class Lock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private refreshing: Promise<void> = Promise.resolve();
  /** The last refresh failure, if any; the lock may have expired for others. */
  refreshError: Error | undefined;

  constructor(
    private readonly repo: Repository,
    public name: string,
    public info: LockInfo,
    private readonly ttlMs: number,
    refreshMs: number,
  ) {
    this.timer = setInterval(() => {
      this.refreshing = this.refresh().catch((err: Error) => {
        this.refreshError = err;
      });
    }, refreshMs);
    this.timer.unref();
  }

  get exclusive(): boolean {
    return this.info.exclusive;
  }

  /** Writes a fresh lock file, then removes the previous one. */
  async refresh(): Promise<void> {
    if (this.released) return;
    const now = new Date();
    const info: LockInfo = { ...this.info, written: now.toISOString(), expires: new Date(now.getTime() + this.ttlMs).toISOString() };
    const name = newLockName();
    await this.repo.writeFile('locks', name, Buffer.from(JSON.stringify(info)));
    const old = this.name;
    this.name = name;
    this.info = info;
    await this.repo.deleteFile('locks', old);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    await this.repo.deleteFile('locks', this.name);
  }
}

function newLockName(): string {
  return randomBytes(16).toString('hex');
}

function conflicts(wantExclusive: boolean, other: LockInfo): boolean {
  return wantExclusive || other.exclusive;
}

/**
 * Takes a lock. Checks before writing (to fail fast) and again after (two
 * writers racing both see each other and both back off, rather than both
 * proceeding).
 */
export async function acquireLock(repo: Repository, options: LockOptions): Promise<Lock> {
  const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  const refreshMs = options.refreshMs ?? Math.min(DEFAULT_LOCK_REFRESH_MS, Math.floor(ttlMs / 3));
  const check = async (own?: string): Promise<void> => {
    for (const lock of await listLocks(repo)) {
      if (lock.name === own) continue;
      if (!lock.info) {
        await repo.deleteFile('locks', lock.name);
        options.onNotice?.(`removed unreadable lock file ${lock.name} (${lock.problem})`);
        continue;
      }
      const stale = staleReason(lock.info);
      if (stale) {
        await repo.deleteFile('locks', lock.name);
        options.onNotice?.(`removed stale lock ${describe(lock.info)}: ${stale}`);
        continue;
      }
      if (conflicts(options.exclusive, lock.info)) {
        throw new LockConflictError(lock.info, options, repo.backend.location);
      }
    }
  };
  await check();
  const now = new Date();
  const info: LockInfo = {
    version: LOCK_VERSION,
    exclusive: options.exclusive,
    purpose: options.purpose,
    host: os.hostname(),
    pid: process.pid,
    user: safeUser(),
    time: now.toISOString(),
    written: now.toISOString(),
    expires: new Date(now.getTime() + ttlMs).toISOString(),
  };
  const name = newLockName();
  await repo.writeFile('locks', name, Buffer.from(JSON.stringify(info)));
  try {
    await check(name);
  } catch (err) {
    await repo.deleteFile('locks', name);
    throw err;
  }
  return new Lock(repo, name, info, ttlMs, refreshMs);
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
