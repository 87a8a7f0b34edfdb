import { createHash } from 'node:crypto';
import type * as vscode from 'vscode';
import { ResponseError, type RequestType } from 'vscode-jsonrpc';
import {
  ErrorCodes,
  SnapshotsContentsRequest,
  SnapshotsFileRequest,
  SnapshotsFilesRequest,
  SnapshotsListRequest,
  SnapshotsObjectRequest,
  type JobParams,
  type RepositoryRef,
  type SnapshotFileEntry,
  type SnapshotObjectRef,
  type SnapshotsContentsResult,
  type SnapshotsListResult,
  type SnapshotVolumeRef,
} from '../protocol/worker';
import type { Repositories } from './repositories';
import { repositoriesSetting, type RepositorySetting } from './settings';
import type { WorkerClient } from './workerClient';

/**
 * Reading the configured repositories' snapshots through the worker, for
 * the Snapshots view and the `lifeboat-snap:` file system. A snapshot never
 * changes once written, so what is read of one is kept (per repository and
 * snapshot id) and the editor's repeated stat/read calls cost nothing.
 * These reads are quiet requests, not jobs with a progress notification.
 */

/** The most a file opened in the editor may hold; larger ones are refused with the command that streams them. */
export const MAX_EDITOR_FILE_BYTES = 64 * 1024 * 1024;
/** Cached answers kept per kind; the oldest go first. */
const CACHE_ENTRIES = 500;

/** A stable, short, URI-safe name for a repository location: the authority of its `lifeboat-snap:` URIs. */
export function repositoryKey(location: string): string {
  return createHash('sha256').update(location).digest('hex').slice(0, 16);
}

class Lru<V> {
  private readonly map = new Map<string, V>();
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > CACHE_ENTRIES) this.map.delete(this.map.keys().next().value as string);
  }
  deleteWhere(test: (key: string) => boolean): void {
    for (const k of [...this.map.keys()]) if (test(k)) this.map.delete(k);
  }
}

export class SnapshotBrowser {
  private serial = 0;
  /** Opened references (passphrase checked), so the default repository's init runs once per session. */
  private readonly refs = new Map<string, Promise<RepositoryRef | undefined>>();
  private readonly contents = new Lru<Promise<SnapshotsContentsResult>>();
  private readonly objects = new Lru<Promise<string>>();
  private readonly dirs = new Lru<Promise<SnapshotFileEntry[]>>();

  constructor(
    private readonly worker: WorkerClient,
    private readonly repositories: Repositories,
    private readonly globalStorage: vscode.Uri,
  ) {}

  /** The configured repositories (the default one when none is), each with its URI key. */
  list(): Array<RepositorySetting & { key: string }> {
    return repositoriesSetting(this.globalStorage).map((r) => ({ ...r, key: repositoryKey(r.location) }));
  }

  repository(key: string): RepositorySetting | undefined {
    return this.list().find((r) => r.key === key);
  }

  /** The reference a request needs; asks for the passphrase when none is stored. Undefined when the user gave none. */
  async ref(key: string): Promise<RepositoryRef | undefined> {
    const repository = this.repository(key);
    if (!repository) throw new Error(`no configured Lifeboat repository has the key ${key}: it was removed from the lifeboat.repositories setting`);
    let ref = this.refs.get(key);
    if (!ref) {
      ref = this.repositories.ref(repository);
      this.refs.set(key, ref);
      // A cancelled prompt or a failure must not stick.
      ref.then(
        (r) => r ?? this.refs.delete(key),
        () => this.refs.delete(key),
      );
    }
    return ref;
  }

  private async call<P extends JobParams, R>(key: string, type: RequestType<P, R, void>, params: Omit<P, 'jobId' | 'repository'>): Promise<R> {
    const repository = await this.ref(key);
    if (!repository) throw new Error('no passphrase was given for the repository');
    const jobId = `browse-${Date.now().toString(36)}-${++this.serial}`;
    try {
      return await this.worker.request(type, { ...params, jobId, repository } as P);
    } catch (err) {
      if (err instanceof ResponseError && err.code === ErrorCodes.passphrase) {
        // The stored passphrase no longer opens it: ask again next time.
        this.refs.delete(key);
        await this.repositories.forget(repository.location);
      }
      throw err;
    }
  }

  /** Every snapshot of a repository, oldest first. Not cached: captures add to it. */
  snapshots(key: string): Promise<SnapshotsListResult> {
    return this.call(key, SnapshotsListRequest, {});
  }

  private cached<V>(cache: Lru<Promise<V>>, id: string, load: () => Promise<V>): Promise<V> {
    let v = cache.get(id);
    if (!v) {
      v = load();
      cache.set(id, v);
      v.catch(() => cache.deleteWhere((k) => k === id));
    }
    return v;
  }

  snapshotContents(key: string, snapshot: string): Promise<SnapshotsContentsResult> {
    return this.cached(this.contents, `${key}/${snapshot}`, () => this.call(key, SnapshotsContentsRequest, { snapshot }));
  }

  /** An object as YAML (Secrets redacted by the worker). */
  objectYaml(key: string, snapshot: string, object: SnapshotObjectRef): Promise<string> {
    const id = `${key}/${snapshot}/${object.group}/${object.kind}/${object.namespace ?? ''}/${object.name}`;
    return this.cached(this.objects, id, async () => (await this.call(key, SnapshotsObjectRequest, { snapshot, object })).yaml);
  }

  /** A directory of a volume; a file's path gives that file alone. */
  files(key: string, snapshot: string, volume: SnapshotVolumeRef, dir: string): Promise<SnapshotFileEntry[]> {
    const id = `${key}/${snapshot}/${volume.namespace}/${volume.pvc}:${dir}`;
    return this.cached(this.dirs, id, async () => (await this.call(key, SnapshotsFilesRequest, { snapshot, volume, dir })).entries);
  }

  /** A file's bytes. Not cached: they can be large. */
  async file(key: string, snapshot: string, volume: SnapshotVolumeRef, path: string): Promise<Uint8Array> {
    const r = await this.call(key, SnapshotsFileRequest, { snapshot, volume, path, maxBytes: MAX_EDITOR_FILE_BYTES });
    return Buffer.from(r.content, 'base64');
  }

  /** Forgets what was read of a snapshot (it was deleted). */
  forget(key: string, snapshot?: string): void {
    const prefix = snapshot ? `${key}/${snapshot}` : `${key}/`;
    for (const cache of [this.contents, this.objects, this.dirs] as Array<Lru<unknown>>) cache.deleteWhere((k) => k.startsWith(prefix));
    if (!snapshot) this.refs.delete(key);
  }
}
