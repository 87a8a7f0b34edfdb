import { Transform, type TransformCallback } from 'node:stream';
import type { EtcdTarget } from '../capture/types';
import type { Logger } from '../log';
import { CancelledError, type ProgressListener } from '../progress';
import type { SnapshotWriter } from '../repo/api';
import { EtcdConnectionError, etcdSnapshotStream, type EtcdSnapshotInfo } from './snapshot';
import { SnapshotIntegrityError, type VerifiedSnapshot } from './verifier';

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
