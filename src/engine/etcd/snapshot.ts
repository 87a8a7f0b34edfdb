/**
 * Reading an etcd member's snapshot (the Maintenance.Snapshot RPC) as a
 * plain byte stream: the same bytes `etcdctl snapshot save` writes, so the
 * stored stream can be given to `etcdctl snapshot restore` as it is.
 */
import * as fs from 'node:fs';
import {
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
} from 'etcd3';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { EtcdTarget } from '../capture/types';
import type { Logger } from '../log';
import { CancelledError, type ProgressListener } from '../progress';
import type { SnapshotWriter } from '../repo/api';
import { MaintenanceClient, type SnapshotCall, type SnapshotMessage, type TlsMaterial } from './maintenance';
import { SnapshotIntegrityError, SnapshotVerifier, type VerifiedSnapshot } from './verifier';

export { SnapshotIntegrityError, SnapshotVerifier, TRAILER_BYTES, type VerifiedSnapshot } from './verifier';

/** What is known of a snapshot before it is read; stored with it in the repository. */
export interface EtcdSnapshotInfo {
  /** The member the snapshot came from. */
  endpoint: string;
  /** The store's revision just before the snapshot began (etcd 3.4 does not send one in the stream). */
  revision: number;
  /** etcd server version of that member. */
  version: string;
  /** Size of its database file, bytes: about the size of the snapshot. */
  dbSize: number;
  /** Member id, hex as etcdctl prints it. */
  memberId: string;
}

export interface EtcdSnapshotStream {
  /** The snapshot bytes, trailer included; fails if the trailer does not match. */
  stream: Readable;
  info: EtcdSnapshotInfo;
  /** Settles when the stream has been read to its end and verified, or has failed. */
  done: Promise<VerifiedSnapshot>;
}

export interface EtcdSnapshotOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** How long one endpoint may take to answer its status call; default 10 s. */
  statusTimeoutMs?: number;
}

export class EtcdConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EtcdConnectionError';
  }
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EtcdConnectionError(`cannot read the etcd ${what} file ${file} (${code ?? (err as Error).message}): check the path and that it is readable by this user`);
  }
}

async function tlsOf(target: EtcdTarget): Promise<TlsMaterial | undefined> {
  if (!target.caFile && !target.certFile && !target.keyFile) return undefined;
  if (Boolean(target.certFile) !== Boolean(target.keyFile)) {
    throw new EtcdConnectionError('an etcd client certificate needs both its certificate file and its key file: give both, or neither');
  }
  // Without a CA file gRPC trusts the system's roots.
  const tls: TlsMaterial = {};
  if (target.caFile) tls.ca = await readPem(target.caFile, 'CA certificate');
  if (target.certFile) tls.cert = await readPem(target.certFile, 'client certificate');
  if (target.keyFile) tls.key = await readPem(target.keyFile, 'client key');
  return tls;
}

/** What went wrong talking to one endpoint, with what to check. */
export function describeEtcdError(endpoint: string, target: EtcdTarget, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const tls = target.caFile || target.certFile || endpoint.startsWith('https:');
  if (/ECONNREFUSED|connection refused/i.test(msg)) {
    return `etcd at ${endpoint} refused the connection: check the address and port, and that etcd listens on it (--listen-client-urls)`;
  }
  if (/certificate|ssl|tls|handshake|self.signed|unable to verify|alert/i.test(msg)) {
    return `TLS with etcd at ${endpoint} failed (${msg}): check that the CA file is the one that signed etcd's serving certificate, and that the client certificate and key are signed by etcd's trusted CA`;
  }
  const authRefused =
    err instanceof EtcdPermissionDeniedError ||
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdInvalidAuthTokenError ||
    err instanceof GRPCUnauthenticatedError;
  if (authRefused || /permission denied|user name is empty|authentication|invalid auth token/i.test(msg)) {
    return `etcd at ${endpoint} refused the request (${msg}): it requires authentication; use a client certificate whose common name is an etcd user with the root role`;
  }
  if (err instanceof GRPCDeadlineExceededError || /deadline/i.test(msg)) {
    return `etcd at ${endpoint} did not answer in time: check the address, firewalls, and${tls ? '' : ' whether it expects TLS (https://),'} that the member is up`;
  }
  if (err instanceof GRPCUnavailableError || /No connection established|UNAVAILABLE/i.test(msg)) {
    return (
      `cannot reach etcd at ${endpoint} (${msg}): check the address and port` +
      (tls ? ', the CA file, and the client certificate and key' : ', and whether it expects TLS (an https:// endpoint with a CA file, client certificate and key)')
    );
  }
  return `etcd at ${endpoint}: ${msg}`;
}

/** Turns snapshot messages into their bytes, keeping the source's backpressure. */
class BlobBytes extends Transform {
  constructor() {
    super({ writableObjectMode: true, readableObjectMode: false, writableHighWaterMark: 4, readableHighWaterMark: 1 << 16 });
  }
  override _transform(message: SnapshotMessage, _encoding: BufferEncoding, done: TransformCallback): void {
    if (message.blob.length > 0) this.push(message.blob);
    done();
  }
}

/**
 * Opens a snapshot from the first endpoint that answers a status call, in the
 * order given. The stream must be read to its end (or destroyed); `done`
 * then gives its size and verified SHA-256.
 */
export async function etcdSnapshotStream(target: EtcdTarget, options: EtcdSnapshotOptions = {}): Promise<EtcdSnapshotStream> {
  const { signal, log } = options;
  if (target.endpoints.length === 0) throw new EtcdConnectionError('no etcd endpoint given');
  if (signal?.aborted) throw new CancelledError();
  const tls = await tlsOf(target);
  const failures: string[] = [];
  for (const endpoint of target.endpoints) {
    if (signal?.aborted) throw new CancelledError();
    let client: MaintenanceClient;
    try {
      client = new MaintenanceClient(endpoint, tls);
    } catch (err) {
      failures.push((err as Error).message);
      continue;
    }
    let status;
    // Closing the client fails a status call still waiting on an unresponsive member.
    const onAbort = (): void => client.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      status = await client.status(options.statusTimeoutMs ?? 10_000);
    } catch (err) {
      client.close();
      if (signal?.aborted) throw new CancelledError();
      const why = describeEtcdError(endpoint, target, err);
      log?.log('warn', 'etcd endpoint unusable', { endpoint, error: why });
      failures.push(why);
      continue;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) {
      client.close();
      throw new CancelledError();
    }
    const info: EtcdSnapshotInfo = {
      endpoint,
      revision: Number(status.revision),
      version: status.version,
      dbSize: Number(status.dbSize),
      memberId: status.memberId.toString(16),
    };
    log?.log('info', 'etcd snapshot starting', { ...info });
    let call: SnapshotCall;
    try {
      call = await client.snapshot();
    } catch (err) {
      client.close();
      if (signal?.aborted) throw new CancelledError();
      throw new EtcdConnectionError(`${describeEtcdError(endpoint, target, err)} (while starting the snapshot)`);
    }
    if (signal?.aborted) {
      call.cancel();
      client.close();
      throw new CancelledError();
    }
    return openSnapshot(client, call, target, info, signal);
  }
  throw new EtcdConnectionError(
    failures.length === 1 ? failures[0] : `no etcd endpoint could be used:\n  ${failures.join('\n  ')}`,
  );
}

function openSnapshot(
  client: MaintenanceClient,
  call: SnapshotCall,
  target: EtcdTarget,
  info: EtcdSnapshotInfo,
  signal: AbortSignal | undefined,
): EtcdSnapshotStream {
  const { endpoint } = info;
  const bytes = new BlobBytes();
  const verifier = new SnapshotVerifier(endpoint);
  let finished = false;

  const finish = (): void => {
    if (finished) return;
    finished = true;
    signal?.removeEventListener('abort', onAbort);
    call.cancel();
    client.close();
  };
  const fail = (err: Error): void => {
    if (finished) return;
    bytes.destroy();
    verifier.destroy(err);
    finish();
  };
  const onAbort = (): void => fail(new CancelledError());
  signal?.addEventListener('abort', onAbort, { once: true });

  bytes.pipe(verifier);
  bytes.on('error', (err) => fail(err));

  const done = new Promise<VerifiedSnapshot>((resolve, reject) => {
    verifier.once('end', () => {
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      client.close();
      resolve(verifier.result!);
    });
    verifier.once('error', (err) => {
      finish();
      reject(err);
    });
    verifier.once('close', () => {
      if (!verifier.result) {
        bytes.destroy();
        finish();
        reject(new Error(`the etcd snapshot from ${endpoint} was not read to its end`));
      }
    });
  });
  // Callers that only read the stream see the failure there.
  done.catch(() => undefined);

  call.on('error', (err: Error) => {
    if (!finished) fail(new EtcdConnectionError(`${describeEtcdError(endpoint, target, err)} (while reading the snapshot)`));
  });
  call.pipe(bytes);

  return { stream: verifier, info, done };
}

/** Name of the data stream an etcd snapshot is stored under. */
export const ETCD_DATA_NAME = 'etcd';

export interface EtcdCaptureOptions {
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: ProgressListener;
}

export interface EtcdCaptureResult {
  info: EtcdSnapshotInfo;
  bytes: number;
  sha256: string;
}

/** Counts bytes going by, reporting at most every 250 ms (and at the end). */
function progressCounter(total: number, onProgress: ProgressListener | undefined, current: string): Transform {
  let done = 0;
  let last = 0;
  const started = Date.now();
  const report = (): void => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : undefined;
    onProgress?.({
      phase: 'etcd',
      current,
      bytesDone: done,
      bytesTotal: total > 0 ? Math.max(total, done) : undefined,
      rate,
      etaSeconds: rate && total > done ? (total - done) / rate : undefined,
    });
  };
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, cb: TransformCallback) {
      done += chunk.length;
      if (Date.now() - last >= 250) {
        last = Date.now();
        report();
      }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      report();
      cb();
    },
  });
}

/**
 * Stores a snapshot of etcd as the "etcd" data stream of the snapshot being
 * written, with where it came from and its revision. The stream is verified
 * as it is stored; if it fails (or is cancelled) the writer is left with a
 * failure and will not commit.
 */
export async function captureEtcd(target: EtcdTarget, writer: SnapshotWriter, options: EtcdCaptureOptions = {}): Promise<EtcdCaptureResult> {
  const { stream, info, done } = await etcdSnapshotStream(target, { signal: options.signal, log: options.log });
  options.onProgress?.({ phase: 'etcd', current: info.endpoint, bytesDone: 0, bytesTotal: info.dbSize || undefined });
  const counted = progressCounter(info.dbSize, options.onProgress, info.endpoint);
  stream.on('error', (err) => counted.destroy(err));
  stream.pipe(counted);
  let verified: VerifiedSnapshot;
  try {
    await writer.addData(ETCD_DATA_NAME, counted, { ...info });
    verified = await done;
  } catch (err) {
    stream.destroy();
    // The verifier's own error says more than "stream destroyed" downstream.
    const cause = await done.then(
      () => undefined,
      (e: unknown) => e,
    );
    const telling = cause instanceof SnapshotIntegrityError || cause instanceof EtcdConnectionError || cause instanceof CancelledError;
    throw telling ? cause : err;
  }
  options.log?.log('info', 'etcd snapshot stored', { endpoint: info.endpoint, revision: info.revision, bytes: verified.bytes });
  return { info, bytes: verified.bytes, sha256: verified.sha256 };
}
