import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { readTar, tarEnd, tarHeader, tarPadding, TarFormatError, type TarEntry } from '../../../src/engine/repo/tar';

/** Runs the system tar and returns its stdout as a stream (what a volume mover sends). */
function systemTar(args: string[]): Readable {
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

async function collect(source: AsyncIterable<unknown>): Promise<Array<TarEntry & { sha?: string }>> {
  const out: Array<TarEntry & { sha?: string }> = [];
  for await (const { entry, body } of readTar(source)) {
    if (entry.type === 'file') {
      const h = createHash('sha256');
      let n = 0;
      for await (const c of body) {
        h.update(c as Buffer);
        n += (c as Buffer).length;
      }
      assert.equal(n, entry.size, `${entry.path}: body length equals header size`);
      out.push({ ...entry, sha: h.digest('hex') });
    } else {
      out.push(entry);
    }
  }
  return out;
}

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('tar reader', function () {
  let dir: string;
  const longDir = 'd'.repeat(60) + '/' + 'e'.repeat(60);
  const longFile = `${longDir}/${'f'.repeat(120)}.txt`;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-tar-'));
    fs.mkdirSync(path.join(dir, 'sub', 'empty'), { recursive: true });
    fs.mkdirSync(path.join(dir, longDir), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sub', 'hello.txt'), 'hello world\n');
    fs.writeFileSync(path.join(dir, longFile), 'long name content');
    fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\necho hi\n');
    fs.chmodSync(path.join(dir, 'run.sh'), 0o750);
    fs.writeFileSync(path.join(dir, 'secret'), 'x');
    fs.chmodSync(path.join(dir, 'secret'), 0o600);
    fs.symlinkSync('sub/hello.txt', path.join(dir, 'link'));
    fs.symlinkSync('/' + 'z'.repeat(150), path.join(dir, 'longlink'));
    fs.linkSync(path.join(dir, 'sub', 'hello.txt'), path.join(dir, 'hard'));
    fs.writeFileSync(path.join(dir, 'empty.bin'), '');
    fs.utimesSync(path.join(dir, 'sub', 'hello.txt'), 1_600_000_000, 1_600_000_000);
    // A big file written in pieces so the test itself stays flat in memory.
    const fd = fs.openSync(path.join(dir, 'big.bin'), 'w');
    const piece = Buffer.alloc(1 << 20);
    for (let i = 0; i < 24; i++) {
      piece.fill(i * 7 + 1);
      fs.writeSync(fd, piece);
    }
    fs.closeSync(fd);
    // A sparse file: 8 MiB logical, two small islands of data.
    const sfd = fs.openSync(path.join(dir, 'sparse.img'), 'w');
    fs.writeSync(sfd, Buffer.from('start'), 0, 5, 1 << 20);
    fs.writeSync(sfd, Buffer.from('end'), 0, 3, (8 << 20) - 3);
    fs.closeSync(sfd);
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const format of ['gnu', 'pax', 'oldgnu']) {
    const args = [`--format=${format}`];
    it(`reads every entry of a ${format} archive made by the system tar, with modes, links and content`, async function () {
      const entries = await collect(systemTar([...args, '-cf', '-', '-C', dir, '.']));
      const byPath = new Map(entries.map((e) => [e.path, e]));
      assert.equal(byPath.get('')?.type, 'dir', 'the archive root "." is the empty path');
      assert.equal(byPath.get('sub/empty')?.type, 'dir');
      const hello = byPath.get('sub/hello.txt')!;
      assert.equal(hello.mtime, 1_600_000_000);
      assert.equal(hello.sha, sha(path.join(dir, 'sub', 'hello.txt')));
      assert.equal(byPath.get(longFile)?.sha, sha(path.join(dir, longFile)), 'a name over 100 characters survives');
      assert.equal(byPath.get('run.sh')?.mode, 0o750);
      assert.equal(byPath.get('secret')?.mode, 0o600);
      assert.equal(byPath.get('secret')?.uid, process.getuid!());
      assert.equal(byPath.get('link')?.type, 'symlink');
      assert.equal(byPath.get('link')?.linkTarget, 'sub/hello.txt');
      assert.equal(byPath.get('longlink')?.linkTarget, '/' + 'z'.repeat(150));
      // tar stores the second name of a hard-linked file as a link to the first one it met.
      const links = entries.filter((e) => e.type === 'hardlink');
      assert.equal(links.length, 1);
      assert.ok(['hard', 'sub/hello.txt'].includes(links[0].linkTarget!));
      assert.equal(byPath.get('empty.bin')?.size, 0);
      assert.equal(byPath.get('big.bin')?.size, 24 << 20);
      assert.equal(byPath.get('big.bin')?.sha, sha(path.join(dir, 'big.bin')));
    });
  }

  for (const format of ['gnu', 'pax']) {
    it(`expands a sparse file from a ${format} --sparse archive to its full content`, async function () {
      const entries = await collect(systemTar([`--format=${format}`, '--sparse', '-cf', '-', '-C', dir, 'sparse.img']));
      assert.equal(entries.length, 1);
      assert.equal(entries[0].path, 'sparse.img');
      assert.equal(entries[0].size, 8 << 20);
      assert.equal(entries[0].sha, sha(path.join(dir, 'sparse.img')));
    });
  }

  it('skips unread bodies and still finds the next header', async function () {
    const seen: string[] = [];
    for await (const { entry } of readTar(systemTar(['-cf', '-', '-C', dir, 'big.bin', 'run.sh']))) seen.push(entry.path);
    assert.deepEqual(seen, ['big.bin', 'run.sh']);
  });

  it('rejects a truncated archive with a clear error', async function () {
    const chunks: Buffer[] = [];
    for await (const c of systemTar(['-cf', '-', '-C', dir, 'run.sh', 'sub'])) chunks.push(c as Buffer);
    const whole = Buffer.concat(chunks);
    // Cut in the middle of the second entry's header area.
    await assert.rejects(collect(Readable.from([whole.subarray(0, 1024 + 100)])), (err: Error) => {
      assert.ok(err instanceof TarFormatError);
      assert.match(err.message, /truncated/);
      return true;
    });
    // Cut exactly at an entry boundary: no end-of-archive marker.
    await assert.rejects(collect(Readable.from([whole.subarray(0, 1024)])), /end-of-archive marker \(truncated\)/);
  });

  it('rejects input that is not tar at all', async function () {
    const garbage = Buffer.alloc(4096, 'not a tar archive, just text. ');
    await assert.rejects(collect(Readable.from([garbage])), /not a tar stream/);
    await assert.rejects(collect(Readable.from([])), /empty input/);
  });

  it('writes archives the system tar extracts, with long names, links and modes', async function () {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-tarw-'));
    try {
      const long = 'x'.repeat(130) + '/ünïcode-' + 'y'.repeat(90);
      const content = Buffer.from('written by the tar writer');
      const base = { uid: process.getuid!(), gid: process.getgid!(), uname: '', gname: '', mtime: 1_500_000_000 };
      const parts: Buffer[] = [
        tarHeader({ ...base, path: 'x'.repeat(130), type: 'dir', mode: 0o755, size: 0 }, 'x'.repeat(130)),
        tarHeader({ ...base, path: long, type: 'file', mode: 0o640, size: content.length }, long),
        content,
        tarPadding(content.length),
        tarHeader({ ...base, path: 'l', type: 'symlink', mode: 0o777, size: 0, linkTarget: long }, 'l'),
        tarHeader({ ...base, path: 'h', type: 'hardlink', mode: 0o640, size: 0, linkTarget: long }, 'h'),
        tarEnd(),
      ];
      await new Promise<void>((resolve, reject) => {
        const child = spawn('tar', ['-xf', '-', '-C', out], { stdio: ['pipe', 'inherit', 'inherit'] });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}`))));
        child.stdin.end(Buffer.concat(parts));
      });
      assert.deepEqual(fs.readFileSync(path.join(out, long)), content);
      assert.equal(fs.statSync(path.join(out, long)).mode & 0o7777, 0o640);
      assert.equal(fs.statSync(path.join(out, long)).mtimeMs, 1_500_000_000_000);
      assert.equal(fs.readlinkSync(path.join(out, 'l')), long);
      assert.equal(fs.statSync(path.join(out, 'h')).ino, fs.statSync(path.join(out, long)).ino);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
