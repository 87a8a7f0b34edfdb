import { packTrailer, type PackEntry } from './pack';
import type { MasterKeys } from './crypto';
import type { BlobKind, PackClass } from './format';

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

/** A finished pack, ready to upload under its content hash. */
export interface FinishedPack {
  cls: PackClass;
  bytes: Buffer;
  entries: PackEntry[];
}

/**
 * Collects blob envelopes of one pack class until the target size, then
 * lays out the pack of §7. Holds at most one pack's worth of envelopes.
 */
export class Packer {
  private parts: Buffer[] = [];
  private list: PackEntry[] = [];
  private bytes = 0;

  constructor(
    readonly cls: PackClass,
    private readonly target: number,
    private readonly keys: MasterKeys | null,
  ) {}

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.list.length;
  }

  /** True when adding this many bytes would pass the target: finish first. */
  wouldOverflow(length: number): boolean {
    return this.list.length > 0 && this.bytes + length > this.target;
  }

  add(kind: BlobKind, id: string, envelope: Buffer, rawLength: number): void {
    this.list.push({ kind, id, offset: this.bytes, length: envelope.length, rawLength });
    this.parts.push(envelope);
    this.bytes += envelope.length;
  }

  finish(): FinishedPack {
    const entries = this.list;
    this.parts.push(packTrailer(this.keys, entries));
    // Shared memory: a worker hashes the pack while this thread still serves its blobs and uploads it.
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const bytes = Buffer.from(new SharedArrayBuffer(total));
    let at = 0;
    for (const p of this.parts) at += p.copy(bytes, at);
    this.parts = [];
    this.list = [];
    this.bytes = 0;
    return { cls: this.cls, bytes, entries };
  }
}
