import { ENTRY_SIZE, ID_SIZE, INDEX_MAGIC, INDEX_VERSION, Reader, type BlobKind } from './format';
import { decodeEntry, encodeEntry, type PackEntry } from './pack';

/** Where one blob is stored. */
export interface BlobLocation {
  kind: BlobKind;
  pack: string;
  offset: number;
  length: number;
  rawLength: number;
}

export interface IndexedPack {
  pack: string;
  entries: PackEntry[];
}

export interface IndexFileContent {
  supersedes: string[];
  packs: IndexedPack[];
}

/** Index file body of §8 (before it is wrapped as an unpacked file). */
export function encodeIndex(content: IndexFileContent): Buffer {
  let size = 12 + ID_SIZE * content.supersedes.length + 4;
  for (const p of content.packs) size += ID_SIZE + 4 + ENTRY_SIZE * p.entries.length;
  const out = Buffer.alloc(size);
  INDEX_MAGIC.copy(out, 0);
  out[4] = INDEX_VERSION;
  let at = 8;
  at = out.writeUInt32BE(content.supersedes.length, at);
  for (const s of content.supersedes) at += out.write(s, at, ID_SIZE, 'hex');
  at = out.writeUInt32BE(content.packs.length, at);
  for (const p of content.packs) {
    at += out.write(p.pack, at, ID_SIZE, 'hex');
    at = out.writeUInt32BE(p.entries.length, at);
    for (const e of p.entries) {
      encodeEntry(e, out, at);
      at += ENTRY_SIZE;
    }
  }
  return out;
}

export function decodeIndex(body: Buffer, name: string): IndexFileContent {
  const r = new Reader(body, 'index file', name);
  r.expect(INDEX_MAGIC, 'magic');
  const version = r.u8('index version');
  if (version !== INDEX_VERSION) r.fail(`index version ${version} is unknown (this Lifeboat reads ${INDEX_VERSION})`);
  r.zeros(3, 'header padding');
  const s = r.u32('superseded count');
  r.need(s * ID_SIZE, 'superseded ids');
  const supersedes: string[] = [];
  for (let i = 0; i < s; i++) supersedes.push(r.bytes(ID_SIZE, 'superseded id').toString('hex'));
  const p = r.u32('pack count');
  const packs: IndexedPack[] = [];
  for (let i = 0; i < p; i++) {
    const pack = r.bytes(ID_SIZE, `pack ${i} id`).toString('hex');
    const m = r.u32(`pack ${i} entry count`);
    r.need(m * ENTRY_SIZE, `pack ${i} entries`);
    const entries: PackEntry[] = [];
    for (let j = 0; j < m; j++) entries.push(decodeEntry(r, `pack ${i} entry ${j}`));
    packs.push({ pack, entries });
  }
  r.end();
  return { supersedes, packs };
}

/**
 * All index files merged: blob id → location. A blob stored twice (two
 * writers raced) keeps its first location; either copy is valid.
 */
export class MasterIndex {
  private readonly map = new Map<string, BlobLocation>();

  get size(): number {
    return this.map.size;
  }

  add(pack: string, entries: Iterable<PackEntry>): void {
    for (const e of entries) {
      if (!this.map.has(e.id)) {
        this.map.set(e.id, { kind: e.kind, pack, offset: e.offset, length: e.length, rawLength: e.rawLength });
      }
    }
  }

  get(id: string): BlobLocation | undefined {
    return this.map.get(id);
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  entries(): IterableIterator<[string, BlobLocation]> {
    return this.map.entries();
  }

  /** Entries grouped by pack, in pack order. */
  byPack(): Map<string, PackEntry[]> {
    const out = new Map<string, PackEntry[]>();
    for (const [id, l] of this.map) {
      let list = out.get(l.pack);
      if (!list) out.set(l.pack, (list = []));
      list.push({ kind: l.kind, id, offset: l.offset, length: l.length, rawLength: l.rawLength });
    }
    for (const list of out.values()) list.sort((a, b) => a.offset - b.offset);
    return out;
  }
}
