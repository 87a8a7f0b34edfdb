import type * as vscode from 'vscode';
import { ErrorCodes, RepositoryInitRequest, type RepositoryRef } from '../protocol/worker';
import type { Host } from './host';
import { defaultRepositoryLocation, repositoriesSetting, type RepositorySetting } from './settings';
import type { WorkerClient } from './workerClient';
import { ResponseError } from 'vscode-jsonrpc';

/**
 * Which repository a job writes to, and its passphrase: kept in VS Code's
 * SecretStorage (the OS keychain), asked for once per repository. The
 * default repository under the extension's storage is created on first use.
 */

const SECRET_PREFIX = 'lifeboat.passphrase:';
const S3_SECRET_PREFIX = 'lifeboat.s3-secret:';

export class Repositories {
  /** The passphrase the default repository last opened with, in this session. */
  private defaultReady: string | undefined;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly globalStorage: vscode.Uri,
    private readonly host: Host,
    private readonly worker: WorkerClient,
  ) {}

  /** The repository to use: the only one configured, or the one the user picks. */
  async choose(): Promise<RepositorySetting | undefined> {
    const all = repositoriesSetting(this.globalStorage);
    if (all.length === 1) return all[0];
    const picked = await this.host.showQuickPick(
      all.map((r) => ({ label: r.name, description: r.location, repository: r })),
      { title: 'Capture into which repository?' },
    );
    return picked?.repository;
  }

  /** The stored passphrase, or one asked for (and stored) now; undefined when the user gave none. */
  async passphrase(location: string, again = false): Promise<string | undefined> {
    const key = SECRET_PREFIX + location;
    if (!again) {
      const stored = await this.secrets.get(key);
      if (stored) return stored;
    }
    const given = await this.host.showInputBox({
      title: `Passphrase of the Lifeboat repository at ${location}`,
      prompt: again ? 'The stored passphrase does not open this repository: enter the right one' : 'Stored in the OS keychain; without it the snapshots cannot be read',
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.length < 8 ? 'At least 8 characters' : undefined),
    });
    if (!given) return undefined;
    await this.secrets.store(key, given);
    return given;
  }

  /** Keeps an S3 repository's secret access key in SecretStorage. */
  async storeS3Secret(location: string, secretAccessKey: string): Promise<void> {
    await this.secrets.store(S3_SECRET_PREFIX + location, secretAccessKey);
  }

  /** The S3 settings a job needs: the setting's endpoint, region and key id with the stored secret key. */
  private async s3Of(repository: RepositorySetting): Promise<RepositoryRef['s3']> {
    if (!repository.location.startsWith('s3://')) return undefined;
    const secretAccessKey = await this.secrets.get(S3_SECRET_PREFIX + repository.location);
    const s3 = { ...repository.s3, ...(secretAccessKey ? { secretAccessKey } : {}) };
    return Object.keys(s3).length ? s3 : undefined;
  }

  async forget(location: string): Promise<void> {
    this.defaultReady = undefined;
    await this.secrets.delete(SECRET_PREFIX + location);
  }

  /**
   * A reference a job can use: the passphrase in it, and the default
   * repository created when it is not there yet. A wrong stored passphrase
   * is asked for once more.
   */
  async ref(repository: RepositorySetting): Promise<RepositoryRef | undefined> {
    let passphrase = await this.passphrase(repository.location);
    if (!passphrase) return undefined;
    if (repository.location !== defaultRepositoryLocation(this.globalStorage)) {
      const s3 = await this.s3Of(repository);
      return { location: repository.location, passphrase, ...(s3 ? { s3 } : {}) };
    }
    // Once the default repository has opened with this passphrase, later jobs need not open it first.
    if (this.defaultReady === passphrase) return { location: repository.location, passphrase };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.worker.runJob(RepositoryInitRequest, { repository: { location: repository.location, passphrase }, ifMissing: true }, 'Lifeboat: opening the local repository');
        this.defaultReady = passphrase;
        return { location: repository.location, passphrase };
      } catch (err) {
        if (!(err instanceof ResponseError) || err.code !== ErrorCodes.passphrase || attempt > 0) throw err;
        passphrase = await this.passphrase(repository.location, true);
        if (!passphrase) return undefined;
      }
    }
  }
}
