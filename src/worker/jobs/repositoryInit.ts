import { KEYS } from '../../engine/repo/format';
import { Repository } from '../../engine/repo/repository';
import type { RepositoryInitParams, RepositoryInitResult } from '../../protocol/worker';
import type { JobContext } from './context';
import { backendOf, openRepositoryRef, PassphraseRequiredError } from './repository';

/**
 * Creating a repository for the extension, which keeps a default local one
 * under its storage: with `ifMissing`, an existing repository is opened
 * (proving the passphrase) instead of refused.
 */
export async function initRepositoryJob(params: RepositoryInitParams, ctx: JobContext): Promise<RepositoryInitResult> {
  const backend = backendOf(params.repository);
  if (params.ifMissing && (await backend.stat(KEYS.config)) !== undefined) {
    await backend.close();
    const repo = await openRepositoryRef(params.repository);
    await repo.close();
    return { created: false };
  }
  if (!params.repository.passphrase) {
    await backend.close();
    throw new PassphraseRequiredError(backend.location);
  }
  ctx.onProgress({ phase: 'init' });
  const repo = await Repository.init(backend, { passphrase: params.repository.passphrase });
  await repo.close();
  ctx.log.log('info', `created repository ${repo.id.slice(0, 12)}`);
  return { created: true };
}
