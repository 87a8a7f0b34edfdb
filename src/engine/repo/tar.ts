import { Readable } from 'node:stream';

/**
 * The tar format, both ways: a streaming reader for what a volume mover
 * produces (`tar cf -`, GNU or POSIX/pax flavour, busybox) and a writer that
 * re-creates an archive for restore. Entry bodies are streamed; memory stays
 * bounded by one block plus whatever the consumer buffers.
 */

const BLOCK = 512;
/** Extended headers are metadata, never file content; a larger one is a corrupt stream. */
const MAX_META_HEADER = 1 << 20;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Path as stored, normalised: no leading "./" or "/", no empty segments. "" is the archive root. */
  path: string;
  type: TarEntryType;
  /** Raw typeflag, for messages about skipped entries. */
  typeflag: string;
  /** Permission bits (including setuid/setgid/sticky). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch; fractional when a pax header carried it. */
  mtime: number;
  /** Bytes of content as the file has them (sparse files: their full logical size). */
  size: number;
  /** Symlink target, or the archive path of a hard link's first occurrence. */
  linkTarget?: string;
}

export class TarFormatError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset} of the tar stream)`);
    this.name = 'TarFormatError';
  }
}

/** Pulls exact byte counts out of a chunked source. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes handed out so far; used to name positions in errors. */
  position = 0;

  constructor(private readonly source: AsyncIterator<unknown>) {}

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.ended) {
      const r = await this.source.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const v = r.value;
      const b = Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v as Uint8Array);
      if (b.length > 0) {
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
  }

  /** Exactly n bytes, or fewer only when the source ended. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const take = Math.min(n, this.buffered);
    let out: Buffer;
    if (this.chunks.length > 0 && this.chunks[0].length >= take) {
      out = this.chunks[0].subarray(0, take);
      this.consume(take);
    } else {
      out = Buffer.allocUnsafe(take);
      let at = 0;
      while (at < take) {
        const c = this.chunks[0];
        const k = Math.min(c.length, take - at);
        c.copy(out, at, 0, k);
        at += k;
        this.consume(k);
      }
    }
    return out;
  }

  /** Between 1 and max bytes without copying where possible; empty at end. */
  async readSome(max: number): Promise<Buffer> {
    await this.fill(1);
    if (this.buffered === 0) return Buffer.alloc(0);
    const c = this.chunks[0];
    const k = Math.min(c.length, max);
    const out = c.subarray(0, k);
    this.consume(k);
    return out;
  }

  private consume(k: number): void {
    const c = this.chunks[0];
    if (k === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(k);
    this.buffered -= k;
    this.position += k;
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const b = await this.readSome(Math.min(left, 1 << 20));
      if (b.length === 0) break;
      left -= b.length;
    }
    return n - left;
  }
}

function cstring(buf: Buffer, start: number, len: number): string {
  const field = buf.subarray(start, start + len);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? len : end).toString('utf8');
}

function numeric(buf: Buffer, start: number, len: number, what: string, offset: number): number {
  const field = buf.subarray(start, start + len);
  if (field[0] & 0x80) {
    // GNU base-256: big-endian binary after the marker bit, for values octal cannot hold.
    if (field[0] === 0xff) throw new TarFormatError(`negative ${what} in header`, offset);
    let v = field[0] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + field[i];
    if (!Number.isSafeInteger(v)) throw new TarFormatError(`${what} too large`, offset);
    return v;
  }
  const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`${what} field is not an octal number: ${JSON.stringify(s)}`, offset);
  return parseInt(s, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  const want = parseInt(stored, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Parses pax "LEN key=value\n" records. */
function parsePax(data: Buffer, offset: number): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const sp = data.indexOf(0x20, at);
    if (sp === -1) throw new TarFormatError('malformed pax extended header', offset);
    const len = parseInt(data.subarray(at, sp).toString('latin1'), 10);
    if (!Number.isSafeInteger(len) || len <= sp - at || at + len > data.length) {
      throw new TarFormatError('malformed pax extended header record length', offset);
    }
    const record = data.subarray(sp + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq === -1) throw new TarFormatError('malformed pax record (no "=")', offset);
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

/**
 * Normalises an archive path. Returns undefined for a path that climbs out
 * of the archive root: such an entry is never stored.
 */
export function normaliseTarPath(p: string): string | undefined {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return undefined;
    parts.push(seg);
  }
  return parts.join('/');
}

interface SparseSegment {
  offset: number;
  length: number;
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '':
    case '7':
    case 'S':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'dir';
    default:
      return 'other';
  }
}

export interface TarItem {
  entry: TarEntry;
  /**
   * The entry's content (files only; empty for others). Read it to the end,
   * or not at all, before asking for the next item.
   */
  body: Readable;
}

/**
 * Reads a tar stream entry by entry. A stream that ends before the
 * end-of-archive marker, or whose headers do not check out, raises a
 * TarFormatError: a truncated archive must never pass for a complete one.
 */
export async function* readTar(source: AsyncIterable<unknown>): AsyncGenerator<TarItem> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  const globalPax = new Map<string, string>();
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let sawEntry = false;

  const readMeta = async (size: number, at: number, what: string): Promise<Buffer> => {
    if (size > MAX_META_HEADER) throw new TarFormatError(`${what} of ${size} bytes is implausibly large`, at);
    const data = await reader.read(size);
    if (data.length < size) throw new TarFormatError(`tar stream ended inside a ${what} (truncated)`, reader.position);
    await skipPadding(size);
    return data;
  };
  const skipPadding = async (size: number): Promise<void> => {
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad && (await reader.skip(pad)) < pad) {
      throw new TarFormatError('tar stream ended inside padding (truncated)', reader.position);
    }
  };

  while (true) {
    const at = reader.position;
    const block = await reader.read(BLOCK);
    if (block.length === 0) {
      throw new TarFormatError(
        sawEntry
          ? 'tar stream ended without its end-of-archive marker (truncated)'
          : 'empty input: expected a tar stream',
        at,
      );
    }
    if (block.length < BLOCK) throw new TarFormatError('tar stream ended inside a header (truncated)', at);
    if (isZero(block)) {
      // End of archive. Whatever follows (the second zero block, record padding) is ignored.
      await reader.skip(Number.MAX_SAFE_INTEGER);
      return;
    }
    if (!checksumOk(block)) {
      throw new TarFormatError(
        sawEntry ? 'corrupt tar header (checksum mismatch)' : 'not a tar stream (first header does not check out)',
        at,
      );
    }
    sawEntry = true;
    const typeflag = String.fromCharCode(block[156]).replace('\0', '0');
    const rawSize = numeric(block, 124, 12, 'size', at);

    if (typeflag === 'x' || typeflag === 'g') {
      const records = parsePax(await readMeta(rawSize, at, 'pax header'), at);
      if (typeflag === 'g') for (const [k, v] of records) globalPax.set(k, v);
      else pax = records;
      continue;
    }
    if (typeflag === 'L' || typeflag === 'K') {
      const value = cstring(await readMeta(rawSize, at, 'GNU long name'), 0, rawSize);
      if (typeflag === 'L') longName = value;
      else longLink = value;
      continue;
    }
    if (typeflag === 'M' || typeflag === 'V') {
      if (typeflag === 'M') throw new TarFormatError('multi-volume tar archives are not supported', at);
      await reader.skip(rawSize + ((BLOCK - (rawSize % BLOCK)) % BLOCK));
      continue;
    }

    const ext = new Map([...globalPax, ...(pax ?? [])]);
    pax = undefined;
    const magic = block.subarray(257, 263).toString('latin1');
    let name = cstring(block, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = cstring(block, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    if (ext.has('path')) name = ext.get('path')!;
    let link = cstring(block, 157, 100);
    if (longLink !== undefined) link = longLink;
    if (ext.has('linkpath')) link = ext.get('linkpath')!;
    longName = undefined;
    longLink = undefined;

    const num = (key: string, fallback: number): number => {
      const v = ext.get(key);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new TarFormatError(`pax ${key} is not a number: ${JSON.stringify(v)}`, at);
      return n;
    };
    let dataSize = num('size', rawSize);
    let size = dataSize;
    let sparse: SparseSegment[] | undefined;
    let sparseMapInData = false;

    if (typeflag === 'S') {
      // Old GNU sparse: up to four segments in the header, more in extension blocks.
      sparse = [];
      const addSegments = (buf: Buffer, start: number, count: number): void => {
        for (let i = 0; i < count; i++) {
          const o = start + i * 24;
          if (buf[o] === 0) continue;
          sparse!.push({ offset: numeric(buf, o, 12, 'sparse offset', at), length: numeric(buf, o + 12, 12, 'sparse length', at) });
        }
      };
      addSegments(block, 386, 4);
      let extended = block[482] !== 0;
      size = numeric(block, 483, 12, 'sparse real size', at);
      while (extended) {
        const eb = await reader.read(BLOCK);
        if (eb.length < BLOCK) throw new TarFormatError('tar stream ended inside a sparse map (truncated)', reader.position);
        addSegments(eb, 0, 21);
        extended = eb[504] !== 0;
      }
    } else if (ext.has('GNU.sparse.major') || ext.has('GNU.sparse.map') || ext.has('GNU.sparse.size')) {
      // pax sparse formats 0.1 and 1.0 from GNU tar --format=pax --sparse.
      if (ext.has('GNU.sparse.name')) name = ext.get('GNU.sparse.name')!;
      size = num('GNU.sparse.realsize', num('GNU.sparse.size', size));
      if (ext.get('GNU.sparse.major') === '1') {
        sparseMapInData = true;
      } else if (ext.has('GNU.sparse.map')) {
        const nums = ext.get('GNU.sparse.map')!.split(',').map(Number);
        sparse = [];
        for (let i = 0; i + 1 < nums.length; i += 2) sparse.push({ offset: nums[i], length: nums[i + 1] });
      } else {
        throw new TarFormatError('unsupported pax sparse file format', at);
      }
    }

    const type = typeOf(typeflag);
    const path = normaliseTarPath(name);
    const entry: TarEntry = {
      path: path ?? name,
      type,
      typeflag,
      mode: numeric(block, 100, 8, 'mode', at) & 0o7777,
      uid: num('uid', numeric(block, 108, 8, 'uid', at)),
      gid: num('gid', numeric(block, 116, 8, 'gid', at)),
      uname: ext.get('uname') ?? cstring(block, 265, 32),
      gname: ext.get('gname') ?? cstring(block, 297, 32),
      mtime: num('mtime', numeric(block, 136, 12, 'mtime', at)),
      size: type === 'file' ? size : 0,
    };
    if (type === 'symlink' || type === 'hardlink') entry.linkTarget = type === 'hardlink' ? (normaliseTarPath(link) ?? link) : link;
    if (path === undefined) entry.path = name;

    // Hard links and directories may carry a size; their data, if any, is not file content.
    if (type !== 'file') {
      const skipped = await reader.skip(dataSize);
      if (skipped < dataSize) throw new TarFormatError('tar stream ended inside an entry (truncated)', reader.position);
      await skipPadding(dataSize);
      yield { entry, body: Readable.from([]) };
      continue;
    }

    if (sparseMapInData) {
      // Format 1.0: the map is decimal lines at the start of the data, padded to a block.
      const lines: number[] = [];
      let consumed = 0;
      let partial = '';
      const readLine = async (): Promise<number> => {
        while (true) {
          const nl = partial.indexOf('\n');
          if (nl !== -1) {
            const v = Number(partial.slice(0, nl));
            partial = partial.slice(nl + 1);
            if (!Number.isSafeInteger(v)) throw new TarFormatError('malformed pax sparse map', at);
            return v;
          }
          const b = await reader.read(BLOCK);
          if (b.length < BLOCK) throw new TarFormatError('tar stream ended inside a sparse map (truncated)', reader.position);
          consumed += BLOCK;
          partial += b.toString('latin1');
          if (partial.length > MAX_META_HEADER) throw new TarFormatError('sparse map implausibly large', at);
        }
      };
      const count = await readLine();
      for (let i = 0; i < count * 2; i++) lines.push(await readLine());
      sparse = [];
      for (let i = 0; i < lines.length; i += 2) sparse.push({ offset: lines[i], length: lines[i + 1] });
      dataSize -= consumed;
    }

    let bodyDone: Promise<void> = Promise.resolve();
    let started = false;
    const stored = dataSize;
    const segments = sparse;
    const realSize = size;
    const progress = { read: 0 };
    async function* content(): AsyncGenerator<Buffer> {
      started = true;
      let finish!: () => void;
      bodyDone = new Promise((r) => (finish = r));
      try {
        if (!segments) {
          while (progress.read < stored) {
            const b = await reader.readSome(Math.min(stored - progress.read, 1 << 20));
            if (b.length === 0) throw new TarFormatError('tar stream ended inside a file (truncated)', reader.position);
            progress.read += b.length;
            yield b;
          }
        } else {
          yield* sparseContent(reader, segments, realSize, at, progress);
        }
      } finally {
        finish();
      }
    }
    const body = Readable.from(content(), { objectMode: false, highWaterMark: 1 << 16 });
    yield { entry, body };
    if (started && !body.readableEnded) {
      // The consumer stopped early: let the body release the reader before moving on.
      body.destroy();
      await bodyDone;
    }
    const left = stored - progress.read;
    if (left > 0 && (await reader.skip(left)) < left) {
      throw new TarFormatError('tar stream ended inside a file (truncated)', reader.position);
    }
    await skipPadding(stored);
  }
}

async function* sparseContent(
  reader: ByteReader,
  segments: SparseSegment[],
  realSize: number,
  at: number,
  progress: { read: number },
): AsyncGenerator<Buffer> {
  const zeros = Buffer.alloc(1 << 16);
  let pos = 0;
  for (const seg of segments) {
    if (seg.offset < pos) throw new TarFormatError('sparse map segments overlap or are out of order', at);
    while (pos < seg.offset) {
      const k = Math.min(zeros.length, seg.offset - pos);
      yield zeros.subarray(0, k);
      pos += k;
    }
    let left = seg.length;
    while (left > 0) {
      const b = await reader.readSome(Math.min(left, 1 << 20));
      if (b.length === 0) throw new TarFormatError('tar stream ended inside a sparse file (truncated)', reader.position);
      left -= b.length;
      pos += b.length;
      progress.read += b.length;
      yield b;
    }
  }
  while (pos < realSize) {
    const k = Math.min(zeros.length, realSize - pos);
    yield zeros.subarray(0, k);
    pos += k;
  }
}

// ---------------------------------------------------------------- writing

function octal(value: number, len: number): string {
  return value.toString(8).padStart(len - 1, '0') + '\0';
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + String(bodyLen).length;
  if (String(len).length !== String(len - bodyLen).length) len = bodyLen + String(len).length;
  return Buffer.from(`${len}${body}`);
}

function rawHeader(fields: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(fields.name, 0, 100, 'utf8');
  b.write(octal(fields.mode, 8), 100, 8, 'latin1');
  b.write(octal(fields.uid, 8), 108, 8, 'latin1');
  b.write(octal(fields.gid, 8), 116, 8, 'latin1');
  b.write(octal(fields.size, 12), 124, 12, 'latin1');
  b.write(octal(fields.mtime, 12), 136, 12, 'latin1');
  b.write('        ', 148, 8, 'latin1');
  b.write(fields.typeflag, 156, 1, 'latin1');
  b.write(fields.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  b.write(fields.uname, 265, 32, 'utf8');
  b.write(fields.gname, 297, 32, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(octal(sum, 7) + ' ', 148, 8, 'latin1');
  return b;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/**
 * Header block(s) for one entry: POSIX ustar, preceded by a pax header when
 * a value does not fit (long or non-ASCII names, sizes ≥ 8 GiB, big ids,
 * fractional times). Content and its padding are the caller's to write.
 */
export function tarHeader(entry: Omit<TarEntry, 'typeflag'>, archivePath: string): Buffer {
  const flags: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', dir: '5', other: '0' };
  const name = entry.type === 'dir' && archivePath !== '.' ? `${archivePath}/` : archivePath;
  const link = entry.linkTarget ?? '';
  const records: Buffer[] = [];
  const fits = (s: string, n: number): boolean => Buffer.byteLength(s) <= n && /^[\x20-\x7e]*$/.test(s);
  if (!fits(name, 100)) records.push(paxRecord('path', name));
  if (!fits(link, 100)) records.push(paxRecord('linkpath', link));
  const size = entry.type === 'file' ? entry.size : 0;
  if (size > 0o77777777777) records.push(paxRecord('size', String(size)));
  if (entry.uid > 0o7777777) records.push(paxRecord('uid', String(entry.uid)));
  if (entry.gid > 0o7777777) records.push(paxRecord('gid', String(entry.gid)));
  if (!fits(entry.uname, 32)) records.push(paxRecord('uname', entry.uname));
  if (!fits(entry.gname, 32)) records.push(paxRecord('gname', entry.gname));
  const mtime = Math.max(0, entry.mtime);
  if (!Number.isInteger(mtime) || mtime > 0o77777777777) records.push(paxRecord('mtime', String(mtime)));
  const main = rawHeader({
    name: fits(name, 100) ? name : asciiFallback(name, 100),
    mode: entry.mode & 0o7777,
    uid: Math.min(entry.uid, 0o7777777),
    gid: Math.min(entry.gid, 0o7777777),
    size: Math.min(size, 0o77777777777),
    mtime: Math.min(Math.floor(mtime), 0o77777777777),
    typeflag: flags[entry.type],
    linkname: fits(link, 100) ? link : asciiFallback(link, 100),
    uname: fits(entry.uname, 32) ? entry.uname : '',
    gname: fits(entry.gname, 32) ? entry.gname : '',
  });
  if (records.length === 0) return main;
  const data = Buffer.concat(records);
  const paxHead = rawHeader({
    name: asciiFallback(`PaxHeaders/${name}`, 100),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: Math.min(Math.floor(mtime), 0o77777777777),
    typeflag: 'x',
    linkname: '',
    uname: '',
    gname: '',
  });
  return Buffer.concat([paxHead, data, padding(data.length), main]);
}

function asciiFallback(s: string, max: number): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(-max);
}

export function tarPadding(size: number): Buffer {
  return padding(size);
}

/** Two zero blocks end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}
