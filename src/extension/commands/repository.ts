import * as vscode from 'vscode';
import { RepositoryInitRequest } from '../../protocol/worker';
import type { Host } from '../host';
import type { Repositories } from '../repositories';
import { addRepositorySetting, repositoriesSetting, type RepositorySetting } from '../settings';
import { fireSnapshotsChanged } from '../snapshotEvents';
import { isCancelled, WorkerLostError, type WorkerClient } from '../workerClient';

/**
 * `lifeboat.addRepository` (Add Repository): a local folder or an S3
 * bucket/prefix (endpoint, region, access key). The secret access key and
 * the passphrase go to SecretStorage; the location, endpoint, region and
 * key id to the `lifeboat.repositories` setting. The repository is created
 * when none is at the location, else opened with the passphrase to check it.
 */

/** "s3://bucket/prefix" from what the user typed ("bucket/prefix" or the URL); throws when it names no bucket. */
export function s3Location(text: string): string {
  const bare = text.trim().replace(/^s3:\/\//, '').replace(/^\/+|\/+$/g, '');
  const bucket = bare.split('/')[0];
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`"${bucket}" is not an S3 bucket name (3–63 lowercase letters, digits, "." and "-")`);
  return `s3://${bare}`;
}

function validS3(v: string): string | undefined {
  try {
    s3Location(v);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export async function addRepositoryCommand(worker: WorkerClient, host: Host, repositories: Repositories, globalStorage: vscode.Uri): Promise<RepositorySetting | undefined> {
  const kind = await host.showQuickPick(
    [
      { label: 'Local folder', detail: 'A directory on this machine or a mounted share', repo: 'local' as const },
      { label: 'S3 bucket', detail: 'AWS S3 or an S3-compatible store (MinIO, Ceph, …)', repo: 's3' as const },
    ],
    { title: 'Add a Lifeboat repository' },
  );
  if (!kind) return undefined;
  let repository: RepositorySetting;
  if (kind.repo === 'local') {
    const folder = await host.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Use as Repository', title: 'Folder of the Lifeboat repository (empty, or an existing repository)' });
    if (!folder?.[0]) return undefined;
    repository = { name: folder[0].fsPath, location: folder[0].fsPath };
  } else {
    const where = await host.showInputBox({ title: 'S3 bucket and prefix', placeHolder: 'my-bucket/lifeboat', prompt: 'BUCKET or BUCKET/PREFIX', validateInput: validS3, ignoreFocusOut: true });
    if (!where) return undefined;
    const endpoint = await host.showInputBox({
      title: 'S3 endpoint (empty for AWS)',
      placeHolder: 'https://minio.example.com:9000',
      ignoreFocusOut: true,
      validateInput: (v) => (v === '' || /^https?:\/\/[^\s/]+/.test(v) ? undefined : 'An http(s):// URL, or empty for AWS'),
    });
    if (endpoint === undefined) return undefined;
    const region = await host.showInputBox({ title: 'S3 region', value: 'us-east-1', ignoreFocusOut: true });
    if (region === undefined) return undefined;
    const accessKeyId = await host.showInputBox({ title: 'S3 access key id (empty: from the AWS_* environment or profile)', ignoreFocusOut: true });
    if (accessKeyId === undefined) return undefined;
    const location = s3Location(where);
    if (accessKeyId) {
      const secret = await host.showInputBox({ title: `S3 secret access key for ${accessKeyId}`, prompt: 'Stored in the OS keychain, never in settings', password: true, ignoreFocusOut: true });
      if (!secret) return undefined;
      await repositories.storeS3Secret(location, secret);
    }
    const s3 = { ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}), ...(accessKeyId ? { accessKeyId } : {}) };
    repository = { name: location, location, ...(Object.keys(s3).length ? { s3 } : {}) };
  }
  if (repositoriesSetting(globalStorage).some((r) => r.location === repository.location)) {
    void host.showInformationMessage(`${repository.location} is already a configured repository.`);
    return undefined;
  }
  const name = await host.showInputBox({ title: 'Name of the repository in pickers', value: repository.name, ignoreFocusOut: true });
  if (name === undefined) return undefined;
  repository.name = name.trim() || repository.location;
  try {
    const ref = await repositories.ref(repository);
    if (!ref) return undefined;
    const { result } = await worker.runJob(RepositoryInitRequest, { repository: ref, ifMissing: true }, `Lifeboat: opening ${repository.name}`);
    await addRepositorySetting(globalStorage, repository);
    fireSnapshotsChanged({ location: repository.location });
    void host.showInformationMessage(`${result.created ? 'Created' : 'Added'} the repository ${repository.name} (${repository.location}).`);
    return repository;
  } catch (err) {
    if (err instanceof WorkerLostError || isCancelled(err)) return undefined;
    // The passphrase did not open an existing repository: not kept.
    await repositories.forget(repository.location);
    void host.showErrorMessage(`Could not add the repository at ${repository.location}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
