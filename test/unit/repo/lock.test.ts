import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock, listLocks, LockConflictError, removeStaleLocks, type LockInfo } from '../../../src/engine/repo/lock';
import { Repository } from '../../../src/engine/repo/repository';
import { LocalBackend } from '../../../src/engine/storage';

/** A pid that certainly does not run: a child that has already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('repository locks', function () {
  this.timeout(30_000);
  let dir: string;
  let repo: Repository;

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-lock-'));
    repo = await Repository.init(new LocalBackend(dir), { insecureNoEncryption: true });
  });

  afterEach(async function () {
    await repo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function plant(info: Partial<LockInfo>): Promise<string> {
    const now = new Date();
    const full: LockInfo = {
      version: 1,
      exclusive: false,
      purpose: 'capture of elsewhere',
      host: 'other-host',
      pid: 4242,
      user: 'ops',
      time: now.toISOString(),
      written: now.toISOString(),
      expires: new Date(now.getTime() + 60_000).toISOString(),
      ...info,
    };
    const name = `planted${Math.random().toString(16).slice(2)}`;
    await repo.writeFile('locks', name, Buffer.from(JSON.stringify(full)));
    return name;
  }

  it('lets shared holders in together', async function () {
    const a = await acquireLock(repo, { exclusive: false, purpose: 'capture of a' });
    const b = await acquireLock(repo, { exclusive: false, purpose: 'capture of b' });
    assert.equal((await listLocks(repo)).length, 2);
    await a.release();
    await b.release();
    assert.equal((await listLocks(repo)).length, 0, 'release removes the lock file');
  });

  it('keeps an exclusive lock out while a shared one is held, naming the holder and what to do', async function () {
    const shared = await acquireLock(repo, { exclusive: false, purpose: 'capture of prod' });
    await assert.rejects(acquireLock(repo, { exclusive: true, purpose: 'prune' }), (err: Error) => {
      assert.ok(err instanceof LockConflictError);
      assert.match(err.message, /cannot prune/);
      assert.match(err.message, /"capture of prod"/);
      assert.match(err.message, new RegExp(`@${os.hostname()} pid ${process.pid} since \\d{4}-`));
      assert.match(err.message, /lifeboat repo unlock/);
      return true;
    });
    assert.equal((await listLocks(repo)).length, 1, 'the refused attempt left no lock behind');
    await shared.release();
    const exclusive = await acquireLock(repo, { exclusive: true, purpose: 'prune' });
    await exclusive.release();
  });

  it('keeps shared and exclusive lockers out while an exclusive lock is held', async function () {
    const exclusive = await acquireLock(repo, { exclusive: true, purpose: 'prune' });
    await assert.rejects(acquireLock(repo, { exclusive: false, purpose: 'capture of prod' }), /locked exclusively for "prune"/);
    await assert.rejects(acquireLock(repo, { exclusive: true, purpose: 'prune' }), /locked exclusively for "prune"/);
    await exclusive.release();
  });

  it('removes an expired lock with a notice and proceeds', async function () {
    await plant({ exclusive: true, purpose: 'prune', expires: new Date(Date.now() - 1000).toISOString() });
    const notices: string[] = [];
    const lock = await acquireLock(repo, { exclusive: true, purpose: 'prune', onNotice: (m) => notices.push(m) });
    assert.equal(notices.length, 1);
    assert.match(notices[0], /removed stale lock "prune" \(exclusive\) by ops@other-host pid 4242 .*expired at/);
    assert.equal((await listLocks(repo)).length, 1);
    await lock.release();
  });

  it('treats a lock of a dead process on this host as stale, but not one on another host', async function () {
    await plant({ exclusive: true, host: os.hostname(), pid: deadPid() });
    const notices: string[] = [];
    const lock = await acquireLock(repo, { exclusive: false, purpose: 'capture', onNotice: (m) => notices.push(m) });
    assert.match(notices[0], /no longer runs on this host/);
    await lock.release();

    await plant({ exclusive: true, host: 'other-host', pid: deadPid() });
    await assert.rejects(acquireLock(repo, { exclusive: false, purpose: 'capture' }), LockConflictError);
  });

  it('refreshes by writing a new lock file and removing the old one', async function () {
    const lock = await acquireLock(repo, { exclusive: false, purpose: 'capture', ttlMs: 60_000 });
    const first = lock.name;
    const firstExpiry = lock.info.expires;
    await new Promise((r) => setTimeout(r, 5));
    await lock.refresh();
    const names = (await listLocks(repo)).map((l) => l.name);
    assert.deepEqual(names, [lock.name]);
    assert.notEqual(lock.name, first);
    assert.ok(lock.info.expires > firstExpiry);
    assert.equal(lock.info.time <= lock.info.written, true, 'the holding time stays the original one');
    await lock.release();
  });

  it('unlock removes only stale locks unless told to remove all', async function () {
    await plant({ expires: new Date(Date.now() - 1000).toISOString() });
    const live = await plant({});
    const removed = await removeStaleLocks(repo);
    assert.equal(removed.length, 1);
    assert.match(removed[0].reason, /expired/);
    assert.deepEqual((await listLocks(repo)).map((l) => l.name), [live]);
    assert.equal((await removeStaleLocks(repo, { all: true })).length, 1);
    assert.equal((await listLocks(repo)).length, 0);
  });
});
