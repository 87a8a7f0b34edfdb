import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AlreadyExistsError,
  NotFoundError,
  ObjectLockedError,
  OutOfRangeError,
  type ByteRange,
  type DeleteOptions,
  type ObjectInfo,
  type PutOptions,
  type StorageBackend,
  type UnfinishedSweep,
} from './backend';
import { checkKey, checkPrefix, checkRange } from './keys';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  failureFacts,
  isRetryable,
  StorageOperationError,
  withRetry,
  type RetryPolicy,
} from './retry';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Options {
  bucket: string;
  /** Key prefix inside the bucket ("" or "team/repo"); slashes at either end are ignored. */
  prefix?: string;
  /** S3-compatible endpoint (http://host:port); AWS when absent. */
  endpoint?: string;
  region?: string;
  /** Bucket in the path instead of the host name; default true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Explicit credentials; otherwise the standard AWS chain (env, profile, SSO, IMDS…). */
  credentials?: S3Credentials;
  /** Attempts per request, including the first (default 8). */
  maxAttempts?: number;
  /** Bytes per multipart part, ≥ 5 MiB (default 16 MiB). Bodies up to this size go in one PutObject. */
  partSize?: number;
  /** A connection idle this long is dropped and the request retried (default 120 s). */
  requestTimeoutMs?: number;
  /** Backoff between attempts (maxAttempts above wins over retry.maxAttempts). */
  retry?: Partial<RetryPolicy>;
  /** Keys per ListObjectsV2 page (default and maximum 1000). */
  listPageSize?: number;
  /** Multipart parts uploading at once (default 2); memory is about (this + 1) × partSize. */
  partConcurrency?: number;
  /** Environment consulted for endpoint/region defaults (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const MiB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;
export const DEFAULT_PART_SIZE = 16 * MiB;

/** Endpoint, region and addressing style after applying options, then the environment. */
export function resolveS3Connection(
  options: Pick<S3Options, 'endpoint' | 'region' | 'forcePathStyle' | 'env'>,
): { endpoint?: string; region: string; forcePathStyle: boolean; regionGiven: boolean } {
  const env = options.env ?? process.env;
  const endpoint =
    options.endpoint || env.LIFEBOAT_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const givenRegion = options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  let forcePathStyle = options.forcePathStyle;
  if (forcePathStyle === undefined && env.LIFEBOAT_S3_PATH_STYLE !== undefined && env.LIFEBOAT_S3_PATH_STYLE !== '') {
    forcePathStyle = parseBoolean(env.LIFEBOAT_S3_PATH_STYLE, 'LIFEBOAT_S3_PATH_STYLE');
  }
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new Error(`S3 endpoint ${JSON.stringify(redactUrl(endpoint))} is not a URL: use e.g. http://127.0.0.1:9000`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`S3 endpoint ${redactUrl(endpoint)} must start with http:// or https://`);
    }
  }
  return {
    endpoint,
    region: givenRegion ?? 'us-east-1',
    forcePathStyle: forcePathStyle ?? endpoint !== undefined,
    regionGiven: givenRegion !== undefined,
  };
}

function parseBoolean(value: string, name: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`${name}=${JSON.stringify(value)} is not a boolean: use true or false`);
}

/** An endpoint for messages: user info and query (which may carry secrets) removed. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return raw.replace(/\/\/[^@/]*@/, '//');
  }
}

/**
 * A repository in an S3 bucket (AWS or any S3-compatible server).
 *
 * Write-once: single puts send `If-None-Match: *`, so the server refuses to
 * replace an existing key (412); in versioned buckets a HeadObject check
 * comes first, because Ceph RGW ignores the header there (see isVersioned).
 * Large and streamed bodies go up as multipart uploads, one buffered part at
 * a time, so memory is bounded by the part size and a failed part can be
 * sent again although the source stream cannot be replayed. Every request carries Content-MD5, so a body damaged in transit is
 * rejected (400 BadDigest) and resent rather than stored.
 *
 * Retries are ours, not the SDK's (its maxAttempts is 1): that keeps one
 * policy for all operations, lets a retried write-once put recognise its own
 * earlier success, and makes the behaviour testable.
 *
 * Multipart write-once: Ceph RGW 16.2 ignores `If-None-Match` on
 * CompleteMultipartUpload (measured: completing onto an existing key
 * replaced it and answered 200). So the key is checked with HeadObject
 * before the upload starts (to fail before sending the data) and again just
 * before completing; the header is sent as well, so servers that honour it
 * (AWS S3) close the remaining window between the check and the complete.
 */
export class S3Backend implements StorageBackend {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly partSize: number;
  private readonly client: S3Client;
  private readonly policy: RetryPolicy;
  private readonly listPageSize: number;
  private readonly partConcurrency: number;
  private versioned: Promise<boolean> | undefined;

  constructor(options: S3Options) {
    // AWS allows 3–63 of [a-z0-9.-]; some S3-compatible servers also allow
    // capitals and "_", so only what no server accepts is refused here.
    if (!options.bucket || !/^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$/.test(options.bucket)) {
      throw new Error(
        `S3 bucket name ${JSON.stringify(options.bucket ?? '')} is not valid: 3 or more letters, digits, ".", "-" or "_"`,
      );
    }
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix) checkKey(this.prefix);
    const conn = resolveS3Connection(options);
    this.location =
      `s3://${this.bucket}${this.prefix ? '/' + this.prefix : ''}` +
      (conn.endpoint ? ` at ${redactUrl(conn.endpoint)}` : '');

    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new Error(`S3 part size ${options.partSize} is too small: S3 needs at least ${MIN_PART_SIZE} bytes`);
    }
    this.policy = {
      ...DEFAULT_RETRY_POLICY,
      ...options.retry,
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    };
    if (!(this.policy.maxAttempts >= 1)) throw new Error(`S3 maxAttempts must be at least 1, got ${this.policy.maxAttempts}`);
    this.listPageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.partConcurrency = Math.max(1, options.partConcurrency ?? 2);

    const timeout = options.requestTimeoutMs ?? 120_000;
    const config: S3ClientConfig = {
      region: conn.region,
      endpoint: conn.endpoint,
      forcePathStyle: conn.forcePathStyle,
      // Without an explicit region a bucket elsewhere answers 301; let the SDK follow it.
      followRegionRedirects: !conn.regionGiven,
      maxAttempts: 1,
      // The SDK's default adds a trailing CRC to streamed bodies (aws-chunked);
      // S3-compatible servers such as RGW 16.2 reject those puts (411). Our
      // Content-MD5 protects the body instead.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: Math.min(timeout, 15_000), socketTimeout: timeout },
    };
    if (options.credentials) config.credentials = { ...options.credentials };
    // The pinned, bundled SDK warns on stderr that *future* SDK releases will
    // need a newer Node; that is not actionable for someone running Lifeboat.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client(config);
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<void> {
    checkKey(key);
    const ifAbsent = options.ifAbsent ?? true;
    if (Buffer.isBuffer(body)) {
      if (options.length !== undefined && options.length !== body.length) {
        throw new Error(`${this.location}: "${key}": body has ${body.length} bytes but ${options.length} were announced`);
      }
      if (body.length <= this.partSize) return this.putSingle(key, body, ifAbsent);
      return this.putMultipart(key, new BufferParts(body, this.partSizeFor(body.length)), ifAbsent, body.length);
    }
    const reader = new PartReader(body, this.partSizeFor(options.length));
    try {
      // No local keeps the first part of a multipart body: it would stay
      // referenced for the whole upload, one part more than the bound.
      const whole = await reader.wholeIfOnePart();
      if (whole) {
        if (options.length !== undefined && whole.length !== options.length) {
          throw new Error(`${this.location}: "${key}": stream had ${whole.length} bytes but ${options.length} were announced; nothing was written`);
        }
        return await this.putSingle(key, whole, ifAbsent);
      }
      return await this.putMultipart(key, reader, ifAbsent, options.length);
    } finally {
      reader.release();
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    checkKey(key);
    if (range) checkRange(range.offset, range.length);
    if (range?.length === 0) {
      await this.checkEmptyRange(key, range.offset);
      return Buffer.alloc(0);
    }
    return this.run('GetObject', key, async () => {
      const res = await this.fetch(key, range);
      const expected = range ? range.length : res.ContentLength;
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of res.Body as Readable) {
        chunks.push(chunk as Buffer);
        total += (chunk as Buffer).length;
      }
      if (range && total < range.length) {
        const size = totalSizeFromContentRange(res.ContentRange) ?? range.offset + total;
        if (range.offset + range.length > size) {
          throw new OutOfRangeError(key, this.location, range.offset, range.length, size);
        }
      }
      if (expected !== undefined && total !== expected) {
        // A response cut short is a transport failure: read it again.
        throw Object.assign(new Error(`response body had ${total} of ${expected} bytes`), { code: 'ECONNRESET' });
      }
      return Buffer.concat(chunks, total);
    });
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    checkKey(key);
    if (range) checkRange(range.offset, range.length);
    if (range?.length === 0) {
      await this.checkEmptyRange(key, range.offset);
      return Readable.from([]);
    }
    const res = await this.run('GetObject', key, () => this.fetch(key, range));
    const body = res.Body as Readable;
    if (range) {
      const size = totalSizeFromContentRange(res.ContentRange);
      if (size !== undefined && range.offset + range.length > size) {
        body.destroy();
        throw new OutOfRangeError(key, this.location, range.offset, range.length, size);
      }
    }
    const start = range?.offset ?? 0;
    const length = range?.length ?? res.ContentLength;
    if (length === undefined) return body;
    return Readable.from(this.resumingChunks(key, body, start, length, res.ETag), { objectMode: false });
  }

  /**
   * The bytes of one GET, picking up where they stopped when the connection
   * breaks: a long restore read should not fail for one reset. The resumed
   * request carries If-Match with the first answer's ETag, so the bytes
   * can only come from the same object.
   */
  private async *resumingChunks(
    key: string,
    first: Readable,
    start: number,
    length: number,
    etag: string | undefined,
  ): AsyncGenerator<Buffer> {
    let body = first;
    let delivered = 0;
    for (let failures = 0; ; ) {
      try {
        for await (const chunk of body) {
          delivered += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (delivered >= length) return;
        throw Object.assign(new Error(`response body ended after ${delivered} of ${length} bytes`), { code: 'ECONNRESET' });
      } catch (err) {
        failures++;
        if (!isRetryable(err)) throw err;
        if (failures >= this.policy.maxAttempts) {
          throw new StorageOperationError('S3 GetObject (streamed)', this.target(key), failures, err);
        }
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(failures, this.policy)));
        const rest = { offset: start + delivered, length: length - delivered };
        const res = await this.run('GetObject', key, () => this.fetch(key, rest, etag));
        body = res.Body as Readable;
      }
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const base = this.prefix ? this.prefix + '/' : '';
    let token: string | undefined;
    do {
      const page = await this.run('ListObjectsV2', prefix + '*', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: base + prefix,
            ContinuationToken: token,
            MaxKeys: this.listPageSize,
          }),
        ),
      );
      for (const item of page.Contents ?? []) {
        if (!item.Key || !item.Key.startsWith(base) || item.Key.endsWith('/')) continue;
        yield { key: item.Key.slice(base.length), size: item.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    const head = await this.head(key);
    return head ? { key, size: head.ContentLength ?? 0 } : undefined;
  }

  /**
   * Removes the object for good. In a versioned bucket (every object-lock
   * bucket is one) a plain DeleteObject only adds a delete marker and keeps
   * the data, so each version found by HeadObject is deleted by id until the
   * key is gone. A version under retention is refused by the server (403);
   * that surfaces as ObjectLockedError naming the retention date, or, with
   * `retained: 'hide'`, a plain DeleteObject puts a delete marker on top.
   */
  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    checkKey(key);
    for (let round = 0; round < 1000; round++) {
      const head = await this.head(key);
      if (!head) return;
      const versionId = head.VersionId && head.VersionId !== 'null' ? head.VersionId : undefined;
      try {
        await this.run('DeleteObject', key, () =>
          this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), VersionId: versionId })),
        );
      } catch (err) {
        const facts = failureFacts(unwrap(err));
        const locked =
          head.ObjectLockLegalHoldStatus === 'ON' ||
          (head.ObjectLockRetainUntilDate !== undefined && head.ObjectLockRetainUntilDate.getTime() > Date.now());
        if (facts.status === 403 && locked) {
          if (options.retained === 'hide') {
            await this.run('DeleteObject', key, () =>
              this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
            );
            return;
          }
          throw new ObjectLockedError(key, this.location, head.ObjectLockRetainUntilDate, head.ObjectLockMode);
        }
        throw err;
      }
      if (!versionId) return;
    }
    throw new Error(`${this.location}: "${key}" still has versions after deleting 1000 of them`);
  }

  /** Aborts multipart uploads under the prefix that a writer started and never completed. */
  async sweepUnfinished(olderThanMs: number): Promise<UnfinishedSweep> {
    const cutoff = Date.now() - olderThanMs;
    const prefix = this.prefix ? `${this.prefix}/` : '';
    const stale: Array<{ key: string; uploadId: string }> = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.run('ListMultipartUploads', '', () =>
        this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        ),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Key.startsWith(prefix)) continue;
        if (u.Initiated && u.Initiated.getTime() > cutoff) continue;
        stale.push({ key: u.Key.slice(prefix.length), uploadId: u.UploadId });
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    for (const u of stale) {
      await this.run('AbortMultipartUpload', u.key, () =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.fullKey(u.key), UploadId: u.uploadId })),
      );
    }
    return { removed: stale.length, bytes: 0 };
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private fullKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private target(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  /** Part size that keeps a body of known length within S3's 10,000 parts. */
  private partSizeFor(length: number | undefined): number {
    if (length === undefined || length <= this.partSize * MAX_PARTS) return this.partSize;
    return Math.ceil(length / MAX_PARTS / MiB) * MiB;
  }

  /**
   * One logical operation under the retry policy. Non-retryable failures that
   * are not already domain errors become a StorageOperationError that names
   * the call, the object, the attempts made and a hint where one helps.
   */
  private async run<T>(operation: string, key: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    let attempts = 0;
    try {
      const ctx = {
        operation: `S3 ${operation}`,
        target: this.target(key),
        policy: this.policy,
        retryable: retryableHere,
        hint: hintFor,
      };
      return await withRetry(ctx, (attempt) => {
        attempts = attempt;
        return fn(attempt);
      });
    } catch (err) {
      // Includes a StorageOperationError from a nested call, which already
      // names the call that failed.
      if (isDomainError(err)) throw err;
      throw new StorageOperationError(`S3 ${operation}`, this.target(key), attempts, err, hintFor(err));
    }
  }

  private async head(key: string): Promise<HeadObjectCommandOutput | undefined> {
    return this.run('HeadObject', key, async () => {
      try {
        return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  /** GetObject translated: missing → NotFoundError, range past the end → OutOfRangeError. */
  private async fetch(key: string, range?: ByteRange, ifMatch?: string) {
    try {
      return await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Range: range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined,
          IfMatch: ifMatch,
        }),
      );
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(key, this.location);
      const facts = failureFacts(err);
      if (ifMatch && isPreconditionFailed(err)) {
        throw new StorageOperationError('S3 GetObject', this.target(key), 1, err, 'the object changed while it was being read');
      }
      if (range && (facts.status === 416 || facts.code === 'InvalidRange')) {
        const info = await this.stat(key);
        if (!info) throw new NotFoundError(key, this.location);
        throw new OutOfRangeError(key, this.location, range.offset, range.length, info.size);
      }
      throw err;
    }
  }

  private async checkEmptyRange(key: string, offset: number): Promise<void> {
    const info = await this.stat(key);
    if (!info) throw new NotFoundError(key, this.location);
    if (offset > info.size) throw new OutOfRangeError(key, this.location, offset, 0, info.size);
  }

  /** Is the stored object the one we meant to write (same size and ETag)? */
  private async isSameObject(key: string, size: number, etag: string): Promise<boolean> {
    const head = await this.rawHead(key);
    return head !== undefined && isSame(head, size, etag);
  }

  /** HeadObject inside an attempt (no retry of its own); missing → undefined. */
  private async rawHead(key: string): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Whether the bucket keeps versions (every object-lock bucket does). Ceph
   * RGW 16.2 ignores `If-None-Match: *` on PUT in such a bucket (measured: a
   * second put of the same key is stored as a new current version), so
   * write-once there also needs a HeadObject check before the put. That
   * leaves a window of one round trip in which two writers of the same key
   * can both succeed; the older version is kept by the bucket either way.
   * Asked once; a server that will not say is treated as unversioned.
   */
  private isVersioned(): Promise<boolean> {
    // Asked inside the caller's attempt, so a transient failure is retried
    // and reported as part of the put that needed the answer.
    this.versioned ??= this.client
      .send(new GetBucketVersioningCommand({ Bucket: this.bucket }))
      .then(
        (res) => res.Status === 'Enabled' || res.Status === 'Suspended',
        (err) => {
          if (isRetryable(err) || failureFacts(err).code === 'NoSuchBucket') throw err;
          return false;
        },
      )
      .catch((err) => {
        this.versioned = undefined;
        throw err;
      });
    return this.versioned;
  }


  private async putSingle(key: string, body: Buffer, ifAbsent: boolean): Promise<void> {
    const md5 = createHash('md5').update(body).digest();
    await this.run('PutObject', key, async (attempt) => {
      if (ifAbsent && (await this.isVersioned())) {
        const existing = await this.rawHead(key);
        if (existing) {
          if (attempt > 1 && isSame(existing, body.length, md5.toString('hex'))) return;
          throw new AlreadyExistsError(key, this.location);
        }
      }
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.fullKey(key),
            Body: body,
            ContentLength: body.length,
            ContentMD5: md5.toString('base64'),
            IfNoneMatch: ifAbsent ? '*' : undefined,
          }),
        );
      } catch (err) {
        if (ifAbsent && isPreconditionFailed(err)) {
          // Our own earlier attempt may have landed before its answer was
          // lost; only an identical object counts as that success.
          if (attempt > 1 && (await this.isSameObject(key, body.length, md5.toString('hex')))) return;
          throw new AlreadyExistsError(key, this.location);
        }
        throw err;
      }
    });
  }

  private async putMultipart(key: string, reader: PartSource, ifAbsent: boolean, length?: number): Promise<void> {
    if (ifAbsent && (await this.stat(key))) throw new AlreadyExistsError(key, this.location);
    const Key = this.fullKey(key);
    const created = await this.run('CreateMultipartUpload', key, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key })),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`${this.location}: "${key}": server returned no multipart upload id`);

    const parts: { PartNumber: number; ETag: string }[] = [];
    const md5s: Buffer[] = [];
    let total = 0;
    // Each entry settles (never rejects): failures land in `failure`.
    const inFlight = new Set<Promise<void>>();
    try {
      let failure: unknown;
      let partNumber = 0;
      while (true) {
        // Wait for a free slot before reading more: this bounds memory.
        while (inFlight.size >= this.partConcurrency) await Promise.race(inFlight);
        if (failure) throw failure;
        const part = await reader.next();
        if (!part) break;
        partNumber++;
        if (partNumber > MAX_PARTS) {
          throw new Error(
            `${this.location}: "${key}" needs more than ${MAX_PARTS} parts of ${reader.partSize} bytes: ` +
              'pass the length or a larger partSize',
          );
        }
        total += part.length;
        const n = partNumber;
        const md5 = createHash('md5').update(part).digest();
        md5s[n - 1] = md5;
        const task: Promise<void> = this.uploadPart(key, uploadId, n, part, md5).then(
          (etag) => {
            parts[n - 1] = { PartNumber: n, ETag: etag };
          },
          (err) => {
            failure ??= err;
          },
        );
        const tracked = task.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      if (length !== undefined && total !== length) {
        throw new Error(`${this.location}: "${key}": stream had ${total} bytes but ${length} were announced; nothing was written`);
      }

      const expectedEtag = createHash('md5').update(Buffer.concat(md5s)).digest('hex') + `-${md5s.length}`;
      await this.run('CompleteMultipartUpload', key, async (attempt) => {
        if (ifAbsent && (await this.stat(key))) {
          if (attempt > 1 && (await this.isSameObject(key, total, expectedEtag))) return;
          throw new AlreadyExistsError(key, this.location);
        }
        try {
          await this.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: this.bucket,
              Key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
              IfNoneMatch: ifAbsent ? '*' : undefined,
            }),
          );
        } catch (err) {
          // After a lost answer the upload is gone (NoSuchUpload) or the key
          // is taken (412); either is success if the object is ours.
          const facts = failureFacts(err);
          if (attempt > 1 && (facts.code === 'NoSuchUpload' || isPreconditionFailed(err))) {
            if (await this.isSameObject(key, total, expectedEtag)) return;
          }
          if (ifAbsent && isPreconditionFailed(err)) throw new AlreadyExistsError(key, this.location);
          throw err;
        }
      });
    } catch (err) {
      // Parts still uploading would otherwise land after the abort and be
      // stored (and billed) on servers that accept them.
      await Promise.all(inFlight);
      await this.abortUpload(key, uploadId);
      throw err;
    }
  }

  private async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, md5: Buffer): Promise<string> {
    const res = await this.run(`UploadPart #${partNumber}`, key, () =>
      this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
          ContentMD5: md5.toString('base64'),
        }),
      ),
    );
    return res.ETag || `"${md5.toString('hex')}"`;
  }

  /** Best effort: an upload left behind is invisible and expires under a lifecycle rule. */
  private async abortUpload(key: string, uploadId: string): Promise<void> {
    await this.run('AbortMultipartUpload', key, async () => {
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.fullKey(key), UploadId: uploadId }),
        );
      } catch (err) {
        if (failureFacts(err).code === 'NoSuchUpload') return;
        throw err;
      }
    }).catch(() => undefined);
  }
}

/** Where multipart bodies come from, one part at a time. */
interface PartSource {
  readonly partSize: number;
  /** The next part, or undefined after the last. */
  next(): Promise<Buffer | undefined>;
}

/** Parts of a body already in memory: views, not copies. */
class BufferParts implements PartSource {
  private offset = 0;
  constructor(private readonly body: Buffer, readonly partSize: number) {}

  async next(): Promise<Buffer | undefined> {
    if (this.offset >= this.body.length) return undefined;
    const part = this.body.subarray(this.offset, this.offset + this.partSize);
    this.offset += part.length;
    return part;
  }
}

/**
 * Cuts a stream into parts of exactly `partSize` bytes (the last may be
 * shorter), copying into one fresh buffer per part so that a part can be
 * resent after a failure while holding no more than that part.
 */
class PartReader implements PartSource {
  /** True once the source is exhausted and every byte has been handed out. */
  ended = false;
  private readonly iterator: AsyncIterator<unknown>;
  private leftover: Buffer | undefined;
  private pushed: Buffer | undefined;
  private sourceDone = false;

  constructor(private readonly source: Readable, readonly partSize: number) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /**
   * The whole body when it fits in one part (empty for an empty stream);
   * otherwise undefined, and next() hands out the first part again.
   */
  async wholeIfOnePart(): Promise<Buffer | undefined> {
    const first = await this.next();
    if (this.ended) return first ?? Buffer.alloc(0);
    this.pushed = first;
    return undefined;
  }

  async next(): Promise<Buffer | undefined> {
    if (this.pushed) {
      const part = this.pushed;
      this.pushed = undefined;
      return part;
    }
    let part: Buffer | undefined;
    let filled = 0;
    while (filled < this.partSize) {
      const chunk = this.leftover ?? (await this.pull());
      this.leftover = undefined;
      if (!chunk) break;
      part ??= Buffer.allocUnsafe(this.partSize);
      const n = Math.min(chunk.length, this.partSize - filled);
      chunk.copy(part, filled, 0, n);
      filled += n;
      if (n < chunk.length) this.leftover = chunk.subarray(n);
    }
    // Peeking one chunk ahead tells a body that fits in one part (a single
    // PutObject) from the first part of a multipart upload.
    if (!this.leftover && !this.sourceDone) this.leftover = await this.pull();
    this.ended = !this.leftover;
    return part?.subarray(0, filled);
  }

  /** Stops reading the source; destroys it if it was not read to the end. */
  release(): void {
    if (!this.sourceDone) this.source.destroy();
  }

  private async pull(): Promise<Buffer | undefined> {
    while (true) {
      const { value, done } = await this.iterator.next();
      if (done) {
        this.sourceDone = true;
        return undefined;
      }
      const chunk = Buffer.isBuffer(value) ? value : Buffer.from(value as string | Uint8Array);
      if (chunk.length) return chunk;
    }
  }
}

/** Answers about the object itself: final, and passed to the caller as they are. */
function isDomainError(err: unknown): boolean {
  return (
    err instanceof AlreadyExistsError ||
    err instanceof NotFoundError ||
    err instanceof OutOfRangeError ||
    err instanceof ObjectLockedError ||
    err instanceof StorageOperationError
  );
}

function retryableHere(err: unknown): boolean {
  return !isDomainError(err) && isRetryable(err);
}

function isNotFound(err: unknown): boolean {
  const { status, code } = failureFacts(err);
  return status === 404 || code === 'NotFound' || code === 'NoSuchKey';
}

function isPreconditionFailed(err: unknown): boolean {
  const { status, code } = failureFacts(err);
  return status === 412 || code === 'PreconditionFailed';
}

function isSame(head: HeadObjectCommandOutput, size: number, etag: string): boolean {
  return head.ContentLength === size && normaliseEtag(head.ETag) === normaliseEtag(etag);
}

function normaliseEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}

function totalSizeFromContentRange(contentRange: string | undefined): number | undefined {
  const m = /\/(\d+)\s*$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : undefined;
}

function unwrap(err: unknown): unknown {
  return err instanceof StorageOperationError ? err.cause : err;
}

function hintFor(err: unknown): string | undefined {
  const { status, code, message } = failureFacts(err);
  if (code === 'NoSuchBucket') return 'the bucket does not exist: create it or correct the repository location';
  if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch') {
    return 'the S3 credentials were rejected: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS profile';
  }
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return 'no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE';
  }
  if (status === 403 || code === 'AccessDenied') return 'access denied: the credentials lack permission on this bucket or key';
  if (isRetryable(err)) return 'the storage kept failing; check the endpoint and the server, then try again';
  return undefined;
}
