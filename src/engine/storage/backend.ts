import type { Readable } from 'node:stream';

/**
 * Where a repository's files live. Every backend offers the same small set of
 * operations; the repository never asks for more, so a local directory, any
 * S3 implementation and (later) others are interchangeable.
 *
 * Keys are slash-separated relative paths ("data/ab/ab12…", "config").
 */
export interface StorageBackend {
  /** Human-readable location for messages, never containing credentials. */
  readonly location: string;

  /**
   * Writes an object once. With `ifAbsent` (the default) an existing key is
   * not overwritten and `AlreadyExistsError` is thrown; the object becomes
   * visible whole or not at all.
   */
  put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void>;

  /** Reads the whole object, or `length` bytes from `offset`. */
  get(key: string, range?: ByteRange): Promise<Buffer>;

  /** Streams the object, or a byte range of it. */
  getStream(key: string, range?: ByteRange): Promise<Readable>;

  /** Lists objects whose key starts with prefix, in no guaranteed order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;

  /** Size of an object, or undefined when it does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;

  /**
   * Removes an object; removing a missing one is not an error. An object
   * under object-lock retention is refused with ObjectLockedError unless
   * `options.retained` is 'hide'.
   */
  delete(key: string, options?: DeleteOptions): Promise<void>;

  /**
   * Removes writes that a writer started and never finished (a killed
   * process's temp files, an abandoned multipart upload) once they are older
   * than olderThanMs. Only prune calls it, holding the exclusive lock.
   */
  sweepUnfinished?(olderThanMs: number): Promise<UnfinishedSweep>;

  /** Releases connections and handles. */
  close(): Promise<void>;
}

export interface UnfinishedSweep {
  removed: number;
  /** Bytes freed, where the backend can tell (0 when it cannot). */
  bytes: number;
}

export interface PutOptions {
  /** Fail with AlreadyExistsError if the key exists (default true). */
  ifAbsent?: boolean;
  /** Byte length when body is a stream and it is known. */
  length?: number;
}

export interface DeleteOptions {
  /**
   * When object-lock retention forbids removing the data: 'fail' (default)
   * throws ObjectLockedError and changes nothing; 'hide' keeps the retained
   * data but takes the key out of view (an S3 delete marker), so get, stat
   * and list no longer see it and the bucket frees the space after the
   * retention ends (given a lifecycle rule for noncurrent versions). Suits
   * short-lived files such as locks; backends without retention ignore it.
   */
  retained?: 'fail' | 'hide';
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

/** A write-once put found the key already taken. */
export class AlreadyExistsError extends Error {
  constructor(readonly key: string, location: string) {
    super(`${location}: "${key}" already exists and is write-once`);
    this.name = 'AlreadyExistsError';
  }
}

/** The object asked for does not exist. */
export class NotFoundError extends Error {
  constructor(readonly key: string, location: string) {
    super(`${location}: "${key}" does not exist`);
    this.name = 'NotFoundError';
  }
}

/** A ranged read asked for bytes past the end of the object. */
export class OutOfRangeError extends Error {
  constructor(readonly key: string, location: string, offset: number, length: number, size: number) {
    super(
      `${location}: "${key}" has ${size} bytes; cannot read ${length} bytes at offset ${offset}` +
        ' (the object is shorter than expected: it may be truncated)',
    );
    this.name = 'OutOfRangeError';
  }
}

/**
 * The object is protected by an object-lock retention period (or legal hold)
 * and the storage refuses to delete it before then. Nothing was removed.
 */
export class ObjectLockedError extends Error {
  constructor(readonly key: string, location: string, readonly retainUntil?: Date, readonly mode?: string) {
    super(
      `${location}: "${key}" is under object-lock retention` +
        (mode ? ` (${mode})` : '') +
        (retainUntil ? ` until ${retainUntil.toISOString()}` : '') +
        '; the storage refuses to delete it before the retention period ends',
    );
    this.name = 'ObjectLockedError';
  }
}
