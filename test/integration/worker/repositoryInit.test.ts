import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Repository } from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage';
import { ErrorCodes, InitializeRequest, PROTOCOL_VERSION, RepositoryInitRequest, type RepositoryInitResult } from '../../../src/protocol/worker';
import { buildCli } from '../../support/proc';
import { rejection, startWorker, type Worker } from './workerProcess';

/** repository/init, as the extension uses it for its default local repository. */

const PASSPHRASE = 'init-over-ipc-Passphrase-5127';

describe('repository init through the worker process', function () {
  this.timeout(120_000);
  let work: string;
  let worker: Worker;
  let jobs = 0;
  const nextJob = (): string => `init-${++jobs}`;

  before(async function () {
    const bundle = await buildCli();
    work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-worker-init-'));
    worker = startWorker(bundle);
    await worker.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION });
  });

  after(function () {
    worker?.connection.dispose();
    worker?.child.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('creates an encrypted repository once and, with ifMissing, opens it the second time', async function () {
    const location = path.join(work, 'repo');
    const first = await worker.request<RepositoryInitResult>(RepositoryInitRequest.method, { jobId: nextJob(), repository: { location, passphrase: PASSPHRASE }, ifMissing: true });
    assert.deepEqual(first, { created: true });
    const second = await worker.request<RepositoryInitResult>(RepositoryInitRequest.method, { jobId: nextJob(), repository: { location, passphrase: PASSPHRASE }, ifMissing: true });
    assert.deepEqual(second, { created: false });
    const repo = await Repository.open(new LocalBackend(location), { passphrase: PASSPHRASE });
    assert.equal(repo.encrypted, true);
    await repo.close();
  });

  it('answers a wrong passphrase for an existing repository with the passphrase code, and never echoes it', async function () {
    const location = path.join(work, 'repo');
    const wrong = 'not-the-right-passphrase-0000';
    const err = await rejection(worker.request(RepositoryInitRequest.method, { jobId: nextJob(), repository: { location, passphrase: wrong }, ifMissing: true }));
    assert.equal(err.code, ErrorCodes.passphrase);
    assert.ok(!err.message.includes(wrong));
  });

  it('refuses to create a repository without a passphrase', async function () {
    const err = await rejection(worker.request(RepositoryInitRequest.method, { jobId: nextJob(), repository: { location: path.join(work, 'other') } }));
    assert.equal(err.code, ErrorCodes.passphrase);
  });
});
