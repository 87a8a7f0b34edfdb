import { parseConfig } from '../../engine/repo/config';
import { KEYS } from '../../engine/repo/format';
import { Repository } from '../../engine/repo/repository';
import { NotFoundError, openBackend, type StorageBackend } from '../../engine/storage';
import type { RepositoryRef } from '../../protocol/worker';

/** Opening the repository a job request names, with the credentials it carries. */

/** The location cannot be used as given (unsupported scheme, no bucket). */
export class RepositoryLocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepositoryLocationError';
  }
}

/** The repository is encrypted and the request carries no passphrase. */
export class PassphraseRequiredError extends Error {
  constructor(location: string) {
    super(`the repository at ${location} is encrypted: give its passphrase`);
    this.name = 'PassphraseRequiredError';
  }
}

export function backendOf(ref: RepositoryRef): StorageBackend {
  const s3 = ref.s3;
  try {
    return openBackend(ref.location, {
      s3: s3
        ? {
            endpoint: s3.endpoint,
            region: s3.region,
            credentials:
              s3.accessKeyId && s3.secretAccessKey
                ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, sessionToken: s3.sessionToken }
                : undefined,
          }
        : undefined,
    });
  } catch (err) {
    throw new RepositoryLocationError((err as Error).message);
  }
}

/** The secret strings of a reference, to scrub from anything sent back to the client. */
export function secretsOf(ref: RepositoryRef): string[] {
  return [ref.passphrase, ref.s3?.secretAccessKey, ref.s3?.sessionToken].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

export async function openRepositoryRef(ref: RepositoryRef): Promise<Repository> {
  const backend = backendOf(ref);
  let encrypted = true;
  try {
    encrypted = parseConfig(await backend.get(KEYS.config), backend.location).pub.encrypted;
  } catch (err) {
    // A missing config: Repository.open words the "not a repository" error.
    if (!(err instanceof NotFoundError)) throw err;
  }
  if (encrypted && !ref.passphrase) throw new PassphraseRequiredError(backend.location);
  return Repository.open(backend, { passphrase: encrypted ? ref.passphrase : undefined });
}

/** Runs `body` with the repository open, closing it afterwards whatever happens. */
export async function withRepositoryRef<T>(ref: RepositoryRef, body: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await openRepositoryRef(ref);
  try {
    return await body(repo);
  } finally {
    await repo.close();
  }
}
