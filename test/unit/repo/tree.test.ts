import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { decodeTree, encodeTree, lookupPath, TreeBuilder, volumePathSegments, walkTree, type Tree, type TreeEntry } from '../../../src/engine/repo/tree';

/** An in-memory tree store: content-addressed like the repository, without its crypto. */
class MemoryStore {
  readonly blobs = new Map<string, Buffer>();
  saves = 0;
  async saveTree(data: Buffer): Promise<string> {
    this.saves++;
    const id = createHash('sha256').update(data).digest('hex');
    this.blobs.set(id, data);
    return id;
  }
  async loadTree(id: string): Promise<Tree> {
    const b = this.blobs.get(id);
    if (!b) throw new Error(`no tree ${id}`);
    return decodeTree(b, id);
  }
}

const meta = { mode: 0o644, uid: 1000, gid: 1000, mtime: '2026-01-01T00:00:00.000Z' };
const file = (size: number, chunk: string): Omit<TreeEntry, 'name'> => ({ type: 'file', ...meta, size, chunks: [chunk] });
const dir = (): Omit<TreeEntry, 'name'> => ({ type: 'dir', ...meta, mode: 0o755, size: 0 });

async function paths(store: MemoryStore, root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { path } of walkTree(store, root)) out.push(path);
  return out;
}

describe('volume file trees', function () {
  it('encodes a listing canonically: entry order and key order do not change the bytes', function () {
    const a = encodeTree([
      { name: 'b', ...file(1, 'x') },
      { name: 'a', ...file(2, 'y') },
    ]);
    const b = encodeTree([
      { size: 2, chunks: ['y'], name: 'a', type: 'file', mode: 0o644, uid: 1000, gid: 1000, mtime: meta.mtime },
      { name: 'b', ...file(1, 'x') },
    ]);
    assert.deepEqual(a, b);
  });

  it('builds nested trees from a depth-first archive, writing each directory once', async function () {
    const store = new MemoryStore();
    const builder = new TreeBuilder(store);
    await builder.add('a', dir());
    await builder.add('a/one', file(1, 'c1'));
    await builder.add('a/sub', dir());
    await builder.add('a/sub/two', file(2, 'c2'));
    await builder.add('b', file(3, 'c3'));
    const { root } = await builder.finish();
    assert.deepEqual(await paths(store, root), ['a', 'a/one', 'a/sub', 'a/sub/two', 'b']);
    assert.equal(store.saves, 3, 'a/sub, a and the root');
    const two = await lookupPath(store, root, meta, ['a', 'sub', 'two']);
    assert.deepEqual(two?.chunks, ['c2']);
  });

  it('creates missing parent directories and handles archives that come back to a directory', async function () {
    const store = new MemoryStore();
    const builder = new TreeBuilder(store);
    await builder.add('x/y/deep', file(1, 'd'));
    await builder.add('z', file(1, 'z'));
    // Not depth-first: x/ again after leaving it.
    await builder.add('x/later', file(1, 'l'));
    await builder.add('x', { ...dir(), mode: 0o700 });
    const { root } = await builder.finish();
    assert.deepEqual(await paths(store, root), ['x', 'x/later', 'x/y', 'x/y/deep', 'z']);
    const x = await lookupPath(store, root, meta, ['x']);
    assert.equal(x?.mode, 0o700, 'the directory entry sets the attributes even when it comes late');
  });

  it('gives identical directories identical tree ids', async function () {
    const store = new MemoryStore();
    const build = async (): Promise<string> => {
      const b = new TreeBuilder(store);
      await b.add('d', dir());
      await b.add('d/f', file(5, 'same'));
      return (await b.finish()).root;
    };
    assert.equal(await build(), await build());
  });

  it('rejects ".." in user-given paths and ignores empty segments', function () {
    assert.deepEqual(volumePathSegments('/data//x/./y/'), ['data', 'x', 'y']);
    assert.deepEqual(volumePathSegments('/'), []);
    assert.throws(() => volumePathSegments('/data/../etc'), /contains "\.\."/);
  });

  it('refuses a tree blob from a newer format with an upgrade hint', function () {
    assert.throws(() => decodeTree(Buffer.from('{"version":99,"entries":[]}'), 'abc'), /upgrade lifeboat/);
    assert.throws(() => decodeTree(Buffer.from('nope'), 'abc'), /not valid JSON/);
  });
});
