import { BLOB_KINDS, ENTRY_SIZE, ID_SIZE, INDEX_MAGIC, INDEX_VERSION, kindCode, Reader, type BlobKind } from './format';
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
 *
 * The index is the one structure that grows with the repository, so it is
 * kept in flat typed arrays (about 60 bytes per blob, no object per blob)
 * with an open-addressing hash table over the ids, which are uniformly
 * distributed (SHA-256 or HMAC outputs) and are used directly as hashes.
 */
export class MasterIndex {
  private packIds: string[] = [];
  private packNumbers = new Map<string, number>();
  private ids = Buffer.alloc(0);
  /** Per entry: pack number, offset, length, rawLength. */
  private meta = new Uint32Array(0);
  private kinds = new Uint8Array(0);
  private count = 0;
  /** Slot → entry number + 1 (0 = empty). */
  private table = new Uint32Array(1024);
  /** Further copies of blobs stored more than once (rare: concurrent writers), for reading around damage. */
  private readonly copies = new Map<string, BlobLocation[]>();

  get size(): number {
    return this.count;
  }

  add(pack: string, entries: Iterable<PackEntry>): void {
    let packNo = this.packNumbers.get(pack);
    for (const e of entries) {
      const id = Buffer.from(e.id, 'hex');
      if (id.length !== ID_SIZE) throw new Error(`invalid blob id "${e.id}"`);
      const known = this.find(id);
      if (known >= 0) {
        if (this.packIds[this.meta[known * 4]] !== pack) {
          const list = this.copies.get(e.id) ?? [];
          if (!list.some((l) => l.pack === pack)) {
            list.push({ kind: e.kind, pack, offset: e.offset, length: e.length, rawLength: e.rawLength });
            this.copies.set(e.id, list);
          }
        }
        continue;
      }
      if (packNo === undefined) {
        packNo = this.packIds.push(pack) - 1;
        this.packNumbers.set(pack, packNo);
      }
      this.reserve(this.count + 1);
      const n = this.count++;
      id.copy(this.ids, n * ID_SIZE);
      this.meta[n * 4] = packNo;
      this.meta[n * 4 + 1] = e.offset;
      this.meta[n * 4 + 2] = e.length;
      this.meta[n * 4 + 3] = e.rawLength;
      this.kinds[n] = kindCode(e.kind);
      this.insert(n);
    }
  }

  get(id: string): BlobLocation | undefined {
    const n = this.lookup(id);
    return n < 0 ? undefined : this.location(n);
  }

  has(id: string): boolean {
    return this.lookup(id) >= 0;
  }

  /** Every known location of a blob, the primary one first. */
  locations(id: string): BlobLocation[] {
    const first = this.get(id);
    return first ? [first, ...(this.copies.get(id) ?? [])] : [];
  }

  *entries(): IterableIterator<[string, BlobLocation]> {
    for (let n = 0; n < this.count; n++) yield [this.idAt(n), this.location(n)];
  }

  /** Entries grouped by pack, in pack order; with copies, also the further copies of blobs stored twice. */
  byPack(withCopies = false): Map<string, PackEntry[]> {
    const out = new Map<string, PackEntry[]>();
    const put = (id: string, l: BlobLocation): void => {
      let list = out.get(l.pack);
      if (!list) out.set(l.pack, (list = []));
      list.push({ kind: l.kind, id, offset: l.offset, length: l.length, rawLength: l.rawLength });
    };
    for (const [id, l] of this.entries()) put(id, l);
    if (withCopies) for (const [id, list] of this.copies) for (const l of list) put(id, l);
    for (const list of out.values()) list.sort((a, b) => a.offset - b.offset);
    return out;
  }

  private idAt(n: number): string {
    return this.ids.toString('hex', n * ID_SIZE, (n + 1) * ID_SIZE);
  }

  private location(n: number): BlobLocation {
    return {
      kind: BLOB_KINDS[this.kinds[n]],
      pack: this.packIds[this.meta[n * 4]],
      offset: this.meta[n * 4 + 1],
      length: this.meta[n * 4 + 2],
      rawLength: this.meta[n * 4 + 3],
    };
  }

  private lookup(id: string): number {
    if (id.length !== ID_SIZE * 2) return -1;
    const b = Buffer.from(id, 'hex');
    return b.length === ID_SIZE ? this.find(b) : -1;
  }

  private find(id: Buffer): number {
    const mask = this.table.length - 1;
    for (let slot = id.readUInt32BE(0) & mask; ; slot = (slot + 1) & mask) {
      const v = this.table[slot];
      if (v === 0) return -1;
      const n = v - 1;
      if (this.ids.compare(id, 0, ID_SIZE, n * ID_SIZE, (n + 1) * ID_SIZE) === 0) return n;
    }
  }

  private insert(n: number): void {
    // Keep the table at most half full so probes stay short.
    if ((this.count + 1) * 2 > this.table.length) {
      this.table = new Uint32Array(this.table.length * 2);
      for (let k = 0; k < this.count; k++) this.place(k);
    } else {
      this.place(n);
    }
  }

  private place(n: number): void {
    const mask = this.table.length - 1;
    let slot = this.ids.readUInt32BE(n * ID_SIZE) & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = n + 1;
  }

  private reserve(entries: number): void {
    const cap = this.kinds.length;
    if (entries <= cap) return;
    const next = Math.max(1024, cap * 2, entries);
    const ids = Buffer.alloc(next * ID_SIZE);
    this.ids.copy(ids);
    this.ids = ids;
    const meta = new Uint32Array(next * 4);
    meta.set(this.meta);
    this.meta = meta;
    const kinds = new Uint8Array(next);
    kinds.set(this.kinds);
    this.kinds = kinds;
  }
}
