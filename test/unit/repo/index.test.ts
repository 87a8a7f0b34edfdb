import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeIndex, encodeIndex, MasterIndex } from '../../../src/engine/repo/index';
import type { PackEntry } from '../../../src/engine/repo/pack';

const rid = (): string => randomBytes(32).toString('hex');

describe('index files', () => {
  it('round-trip packs, entries of every kind and superseded ids', () => {
    const kinds = ['resource', 'tree', 'data'] as const;
    const packs = Array.from({ length: 4 }, (_, p) => ({
      pack: rid(),
      entries: Array.from({ length: 10 + p }, (_, i): PackEntry => ({ kind: kinds[i % 3], id: rid(), offset: i * 1000, length: 1000, rawLength: 4000 + i })),
    }));
    const content = { supersedes: [rid(), rid()], packs };
    assert.deepEqual(decodeIndex(encodeIndex(content), 'x'), content);
    assert.deepEqual(decodeIndex(encodeIndex({ supersedes: [], packs: [] }), 'x'), { supersedes: [], packs: [] });
  });

  it('merges into one lookup and groups it back by pack', () => {
    const idx = new MasterIndex();
    const a = rid();
    const b = rid();
    const shared = rid();
    idx.add(a, [{ kind: 'data', id: shared, offset: 0, length: 10, rawLength: 8 }]);
    idx.add(b, [
      { kind: 'data', id: shared, offset: 0, length: 10, rawLength: 8 },
      { kind: 'tree', id: rid(), offset: 10, length: 5, rawLength: 3 },
    ]);
    assert.equal(idx.size, 2);
    assert.equal(idx.get(shared)?.pack, a, 'a blob stored twice keeps its first location');
    const grouped = idx.byPack();
    assert.equal(grouped.get(a)?.length, 1);
    assert.equal(grouped.get(b)?.length, 1);
  });

  it('finds every one of 200,000 blobs and none that is absent', () => {
    const idx = new MasterIndex();
    const packs = Array.from({ length: 200 }, rid);
    const ids: string[] = [];
    for (let p = 0; p < packs.length; p++) {
      const entries: PackEntry[] = [];
      for (let i = 0; i < 1000; i++) {
        const id = rid();
        ids.push(id);
        entries.push({ kind: 'data', id, offset: i * 100, length: 100, rawLength: p });
      }
      idx.add(packs[p], entries);
    }
    assert.equal(idx.size, 200_000);
    for (let i = 0; i < ids.length; i += 7) {
      const l = idx.get(ids[i]);
      assert.ok(l && l.pack === packs[Math.floor(i / 1000)] && l.offset === (i % 1000) * 100 && l.rawLength === Math.floor(i / 1000));
    }
    for (let i = 0; i < 10_000; i++) assert.equal(idx.has(rid()), false);
    assert.equal(idx.has('not-an-id'), false);
    assert.equal(idx.byPack().get(packs[3])?.length, 1000);
  });
});
