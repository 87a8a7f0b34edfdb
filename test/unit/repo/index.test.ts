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
});
