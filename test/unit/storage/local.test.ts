import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from '../../../src/engine/storage';
import { backendContract, generatedStream, listKeys, liveBufferPeakDuring } from './backendContract';

describe('LocalBackend', () => {
  let dir: string;
  let backend: LocalBackend;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-local-backend-'));
    backend = new LocalBackend(path.join(dir, 'repo'));
  });
  after(async () => {
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('backend contract', () => {
    backendContract({ backend: () => backend, largeSize: 12 * 1024 * 1024 });
  });

  it('keeps each key as a file under the root, creating directories on demand', async () => {
    await backend.put('layout/data/ff/ff00', Buffer.from('x'));
    assert.equal(fs.readFileSync(path.join(dir, 'repo', 'layout', 'data', 'ff', 'ff00'), 'utf8'), 'x');
  });

  it('never lists unfinished writes and removes them once they are old enough', async () => {
    const unfinished = path.join(dir, 'repo', 'crash', 'data', '.tmp-deadbeef');
    fs.mkdirSync(path.dirname(unfinished), { recursive: true });
    fs.writeFileSync(unfinished, 'half a pack');
    const fresh = path.join(dir, 'repo', 'crash', '.tmp-cafe');
    fs.writeFileSync(fresh, 'a writer still busy');
    await backend.put('crash/data/real', Buffer.from('ok'));
    const old = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(unfinished, old, old);

    assert.deepEqual(await listKeys(backend, 'crash/'), ['crash/data/real']);
    assert.equal(await backend.cleanupTemp(3600_000), 1);
    assert.equal(fs.existsSync(unfinished), false);
    assert.equal(fs.existsSync(fresh), true, 'a recent temp file may belong to a running writer');
    assert.equal(await backend.cleanupTemp(0), 1);
    assert.equal(fs.existsSync(fresh), false);
    assert.deepEqual(await listKeys(backend, 'crash/'), ['crash/data/real']);
  });

  it('leaves no temp file behind after a refused or failed put', async () => {
    await backend.put('tidy/k', Buffer.from('1'));
    await assert.rejects(backend.put('tidy/k', Buffer.from('2')));
    await assert.rejects(backend.put('tidy/short', generatedStream(1000, 's').stream, { length: 5 }));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'repo', 'tidy')), ['k']);
  });

  it('streams a 50 MB put with flat memory', async function () {
    this.timeout(60_000);
    const size = 50 * 1024 * 1024;
    const { stream, sha256 } = generatedStream(size, 'flat');
    const peak = await liveBufferPeakDuring(() => backend.put('big/pack', stream));
    const expected = sha256();
    assert.equal((await backend.stat('big/pack'))?.size, size);
    const back = createHash('sha256');
    for await (const chunk of await backend.getStream('big/pack')) back.update(chunk as Buffer);
    assert.equal(back.digest('hex'), expected);
    assert.ok(peak < 8 * 1024 * 1024, `live buffers grew by ${(peak / 1048576).toFixed(1)} MiB while writing 50 MiB`);
  });

  it('names the location in errors', async () => {
    await assert.rejects(backend.get('nowhere'), (err: Error) => err.message.includes(path.join(dir, 'repo')));
  });
});
