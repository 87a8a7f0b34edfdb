import { runCapture } from '../../engine/capture/capture';
import type { CaptureResult } from '../../engine/capture/types';
import type { CaptureParams } from '../../protocol/worker';
import type { JobContext } from './context';
import { withRepositoryRef } from './repository';

/** A capture into the repository the request names; the engine handles locks, movers and cleanup on cancel. */
export async function captureJob(params: CaptureParams, ctx: JobContext): Promise<CaptureResult> {
  return withRepositoryRef(params.repository, (repo) =>
    runCapture(params.request, { repo, signal: ctx.signal, log: ctx.log, onProgress: ctx.onProgress }),
  );
}
