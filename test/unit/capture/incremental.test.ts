import { strict as assert } from 'node:assert';
import { excludeList, parseListing, parseNames, safeToExclude, sameAsParent, unchangedFiles, type ListedFile } from '../../../src/engine/capture/incremental';
import type { TreeEntry } from '../../../src/engine/repo/tree';

const names = (...ns: Array<string | Buffer>): Buffer => Buffer.concat(ns.flatMap((n) => [Buffer.isBuffer(n) ? n : Buffer.from(n, 'utf8'), Buffer.from([0])]));

/** A stat line as STAT_FORMAT prints it. */
const line = (size: number, mtime: number, rawMode: number, links = 1, user = 'postgres', group = 'postgres'): string => `${size} ${mtime} ${rawMode.toString(16)} 999 999 ${links} ${user} ${group}`;

const REG = 0o100000;

describe('the incremental listing', function () {
  it('splits NUL-separated names, refusing output that does not end with NUL', function () {
    assert.deepEqual(parseNames(names('/data/a', '/data/b c'))?.map(String), ['/data/a', '/data/b c']);
    assert.deepEqual(parseNames(Buffer.alloc(0)), []);
    assert.equal(parseNames(Buffer.from('/data/a\0/data/b')), undefined);
  });

  it('pairs names with stat lines, taking permission bits from the raw mode and paths relative to the volume', function () {
    const r = parseListing(names('/data/pgdata/PG_VERSION', '/data/top'), [line(3, 1700000000, REG | 0o600), line(0, 1700000001, REG | 0o4755)].join('\n') + '\n');
    assert.ok('listing' in r);
    assert.deepEqual(r.listing, {
      files: [
        { path: 'pgdata/PG_VERSION', size: 3, mtime: 1700000000, mode: 0o600, uid: 999, gid: 999, user: 'postgres', group: 'postgres' },
        { path: 'top', size: 0, mtime: 1700000001, mode: 0o4755, uid: 999, gid: 999, user: 'postgres', group: 'postgres' },
      ],
      skipped: 0,
    });
  });

  it('is refused whole when stat printed a different number of lines than there are names', function () {
    const r = parseListing(names('/data/a', '/data/b'), line(1, 1, REG | 0o644) + '\n');
    assert.deepEqual(r, { error: 'stat printed 1 lines for 2 files' });
    assert.ok('error' in parseListing(names('/data/a'), 'garbage\n'));
  });

  it('passes over names that are globs, hold control characters, end in space or are not UTF-8, and files no longer regular or single-linked', function () {
    const odd = ['/data/st*r', '/data/q?', '/data/[x]', '/data/back\\slash', '/data/new\nline', '/data/tab\there', '/data/trailing ', '/data/ leading'];
    const r = parseListing(
      names(...odd, Buffer.from([0x2f, 0x64, 0x61, 0x74, 0x61, 0x2f, 0xff]), '/data/linked', '/data/fifo', '/data/fine name'),
      [...odd.map(() => line(1, 1, REG | 0o644)), line(1, 1, REG | 0o644), line(1, 1, REG | 0o644, 2), line(0, 1, 0o010644), line(1, 1, REG | 0o644)].join('\n') + '\n',
    );
    assert.ok('listing' in r);
    assert.deepEqual(r.listing.files.map((f) => f.path), ['fine name']);
    assert.equal(r.listing.skipped, odd.length + 3);
  });

  it('never writes an exclude line that could match another file', function () {
    assert.equal(safeToExclude('pgdata/base/1/1259'), true);
    assert.equal(safeToExclude('with space/and ünïcode'), true);
    for (const p of ['a*', 'a?', 'a[1]', 'a\\b', 'a\nb', 'a ', ' a', 'a\r', '']) assert.equal(safeToExclude(p), false, JSON.stringify(p));
    assert.equal(excludeList(['a/b', 'c d']).toString(), './a/b\n./c d\n');
    assert.throws(() => excludeList(['ok', 'bad*']), /"bad\*" cannot be written as an exclude pattern/);
  });
});

describe('deciding which files are unchanged', function () {
  const file: ListedFile = { path: 'a/b', size: 10, mtime: 1700000000, mode: 0o600, uid: 999, gid: 999, user: 'postgres', group: 'postgres' };
  const prev: TreeEntry = { name: 'b', type: 'file', mode: 0o600, uid: 999, gid: 999, user: 'postgres', group: 'postgres', mtime: '2023-11-14T22:13:20.000Z', size: 10, chunks: ['c1'] };
  const stored = (): boolean => true;

  it('takes a file whose size, whole-second mtime, mode, owner ids and names match the parent entry', function () {
    assert.equal(sameAsParent(file, prev, stored), true);
  });

  it('reads again a file that differs in any attribute, is not a file in the parent, or whose chunks are gone', function () {
    assert.equal(sameAsParent(file, undefined, stored), false);
    assert.equal(sameAsParent({ ...file, size: 11 }, prev, stored), false);
    assert.equal(sameAsParent({ ...file, mtime: file.mtime + 1 }, prev, stored), false);
    assert.equal(sameAsParent({ ...file, mode: 0o640 }, prev, stored), false);
    assert.equal(sameAsParent({ ...file, uid: 0 }, prev, stored), false);
    assert.equal(sameAsParent({ ...file, gid: 0 }, prev, stored), false);
    assert.equal(sameAsParent({ ...file, user: 'root' }, prev, stored), false);
    assert.equal(sameAsParent(file, { ...prev, type: 'symlink', chunks: undefined }, stored), false);
    assert.equal(sameAsParent(file, prev, () => false), false);
  });

  it('counts a parent mtime with a fraction of a second as changed: stat only gives seconds', function () {
    assert.equal(sameAsParent(file, { ...prev, mtime: '2023-11-14T22:13:20.250Z' }, stored), false);
  });

  it('matches an owner the mover cannot name with a parent entry holding no name or the number', function () {
    const nameless = { ...file, user: 'UNKNOWN', group: 'UNKNOWN' };
    assert.equal(sameAsParent(nameless, { ...prev, user: undefined, group: undefined }, stored), true);
    assert.equal(sameAsParent(nameless, { ...prev, user: '999', group: '999' }, stored), true);
    assert.equal(sameAsParent(nameless, prev, stored), false);
  });

  it('collects the unchanged paths and their bytes, asking the parent in listing order', async function () {
    const asked: string[] = [];
    const parent = new Map<string, TreeEntry>([
      ['a/b', prev],
      ['a/c', { ...prev, name: 'c', size: 5 }],
    ]);
    const listing = { files: [file, { ...file, path: 'a/c', size: 5 }, { ...file, path: 'a/d' }], skipped: 0 };
    const r = await unchangedFiles(listing, async (p) => (asked.push(p), parent.get(p)), stored);
    assert.deepEqual([...r.paths], ['a/b', 'a/c']);
    assert.equal(r.bytes, 15);
    assert.deepEqual(asked, ['a/b', 'a/c', 'a/d']);
  });
});
