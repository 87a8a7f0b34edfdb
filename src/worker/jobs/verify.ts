import { CancelledError } from '../../engine/progress';
import { verify, type VerifyReport } from '../../engine/repo/verify';
import type { RepositoryVerifyParams } from '../../protocol/worker';
import type { JobContext } from './context';
import { withRepositoryRef } from './repository';

/**
 * Verifying a repository. verify() takes no AbortSignal; its per-pack
 * progress callback is where a cancellation is noticed: throwing there stops
 * the pack loop after the packs in flight, and verify's own cleanup
 * releases its lock before the error reaches the client.
 */
export async function verifyJob(params: RepositoryVerifyParams, ctx: JobContext): Promise<VerifyReport> {
  return withRepositoryRef(params.repository, async (repo) => {
    if (ctx.signal.aborted) throw new CancelledError();
    const report = await verify(repo, {
      readData: params.readData ?? false,
      onNotice: (message) => ctx.warn(message),
      onProgress: (done, total) => {
        if (ctx.signal.aborted) throw new CancelledError();
        ctx.onProgress({ phase: params.readData ? 'read packs' : 'check packs', itemsDone: done, itemsTotal: total });
      },
    });
    return report;
  });
}
