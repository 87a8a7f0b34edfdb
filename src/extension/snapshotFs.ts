import * as vscode from 'vscode';
import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCodes, SnapshotErrorCodes, type SnapshotFileEntry, type SnapshotObjectRef, type SnapshotVolumeRef } from '../protocol/worker';
import type { SnapshotBrowser } from './snapshotBrowser';

/**
 * The `lifeboat-snap:` file system: every object and volume file of every
 * snapshot as a read-only document, read through the worker.
 *
 *   lifeboat-snap://<repo-key>/<snapshot-id>/objects/<namespace or _cluster>/<group or core>/<kind>/<name>.yaml
 *   lifeboat-snap://<repo-key>/<snapshot-id>/volumes/<namespace>/<pvc>/<path in the volume>
 *
 * The levels above those are directories, so the explorer and "Open File"
 * can walk them too.
 */

export const SNAPSHOT_SCHEME = 'lifeboat-snap';
const CLUSTER_SCOPED = '_cluster';
const CORE_GROUP = 'core';

export function objectUri(key: string, snapshot: string, ref: SnapshotObjectRef): vscode.Uri {
  const segs = [snapshot, 'objects', ref.namespace || CLUSTER_SCOPED, ref.group || CORE_GROUP, ref.kind, `${ref.name}.yaml`];
  return vscode.Uri.from({ scheme: SNAPSHOT_SCHEME, authority: key, path: '/' + segs.join('/') });
}

export function volumeUri(key: string, snapshot: string, volume: SnapshotVolumeRef, filePath = '/'): vscode.Uri {
  const rest = filePath.split('/').filter(Boolean);
  return vscode.Uri.from({ scheme: SNAPSHOT_SCHEME, authority: key, path: '/' + [snapshot, 'volumes', volume.namespace, volume.pvc, ...rest].join('/') });
}

/** What a `lifeboat-snap:` URI names. */
export type SnapshotPath =
  | { type: 'root'; key: string }
  | { type: 'snapshot'; key: string; snapshot: string }
  | { type: 'objectsDir'; key: string; snapshot: string; namespace?: string; group?: string; kind?: string }
  | { type: 'object'; key: string; snapshot: string; ref: SnapshotObjectRef }
  | { type: 'volumesDir'; key: string; snapshot: string; namespace?: string }
  | { type: 'volumeFile'; key: string; snapshot: string; volume: SnapshotVolumeRef; path: string };

export function parseSnapshotUri(uri: vscode.Uri): SnapshotPath | undefined {
  if (uri.scheme !== SNAPSHOT_SCHEME || !uri.authority) return undefined;
  const key = uri.authority;
  const segs = uri.path.split('/').filter(Boolean);
  const [snapshot, section, ...rest] = segs;
  if (!snapshot) return { type: 'root', key };
  if (!section) return { type: 'snapshot', key, snapshot };
  if (section === 'objects') {
    const [ns, group, kind, file, ...extra] = rest;
    if (extra.length > 0) return undefined;
    const namespace = ns === undefined ? undefined : ns === CLUSTER_SCOPED ? '' : ns;
    const g = group === undefined ? undefined : group === CORE_GROUP ? '' : group;
    if (file === undefined) return { type: 'objectsDir', key, snapshot, namespace, group: g, kind };
    if (!file.endsWith('.yaml')) return undefined;
    const ref: SnapshotObjectRef = { group: g!, kind: kind!, name: file.slice(0, -'.yaml'.length) };
    if (namespace) ref.namespace = namespace;
    return { type: 'object', key, snapshot, ref };
  }
  if (section === 'volumes') {
    const [namespace, pvc, ...filePath] = rest;
    if (pvc === undefined) return { type: 'volumesDir', key, snapshot, namespace };
    return { type: 'volumeFile', key, snapshot, volume: { namespace: namespace!, pvc }, path: '/' + filePath.join('/') };
  }
  return undefined;
}

function fileType(e: SnapshotFileEntry): vscode.FileType {
  if (e.type === 'dir') return vscode.FileType.Directory;
  if (e.type === 'symlink') return vscode.FileType.SymbolicLink;
  return vscode.FileType.File;
}

function dirStat(mtime: number): vscode.FileStat {
  return { type: vscode.FileType.Directory, ctime: mtime, mtime, size: 0, permissions: vscode.FilePermission.Readonly };
}

export class SnapshotFileSystem implements vscode.FileSystemProvider {
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  // Snapshots never change, so nothing is ever reported here.
  readonly onDidChangeFile = this.changed.event;

  constructor(private readonly browser: SnapshotBrowser) {}

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  private notFound(uri: vscode.Uri): never {
    throw vscode.FileSystemError.FileNotFound(uri);
  }

  /** Turns the worker's answer into the error VS Code shows for a file. */
  private async guard<T>(uri: vscode.Uri, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      if (err instanceof vscode.FileSystemError) throw err;
      if (err instanceof ResponseError && err.code === ErrorCodes.notFound) throw vscode.FileSystemError.FileNotFound(uri);
      if (err instanceof ResponseError && err.code === SnapshotErrorCodes.tooLarge) throw vscode.FileSystemError.Unavailable(err.message);
      throw vscode.FileSystemError.Unavailable(`${uri.toString()}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async snapshotTime(key: string, snapshot: string): Promise<number> {
    return Date.parse((await this.browser.snapshotContents(key, snapshot)).snapshot.time);
  }

  stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    return this.guard(uri, async () => {
      const p = parseSnapshotUri(uri) ?? this.notFound(uri);
      if (p.type === 'root') return dirStat(0);
      const time = await this.snapshotTime(p.key, p.snapshot);
      switch (p.type) {
        case 'snapshot':
          return dirStat(time);
        case 'objectsDir':
        case 'volumesDir':
          await this.readDirectory(uri);
          return dirStat(time);
        case 'object': {
          const yaml = await this.browser.objectYaml(p.key, p.snapshot, p.ref);
          return { type: vscode.FileType.File, ctime: time, mtime: time, size: Buffer.byteLength(yaml), permissions: vscode.FilePermission.Readonly };
        }
        case 'volumeFile': {
          if (p.path === '/') {
            const contents = await this.browser.snapshotContents(p.key, p.snapshot);
            if (!contents.volumes.some((v) => v.namespace === p.volume.namespace && v.pvc === p.volume.pvc)) this.notFound(uri);
            return dirStat(time);
          }
          const parent = p.path.slice(0, p.path.lastIndexOf('/')) || '/';
          const entry = (await this.browser.files(p.key, p.snapshot, p.volume, parent)).find((e) => e.path === p.path) ?? this.notFound(uri);
          const mtime = Date.parse(entry.mtime);
          return { type: fileType(entry), ctime: mtime, mtime, size: entry.size, permissions: vscode.FilePermission.Readonly };
        }
      }
    });
  }

  readDirectory(uri: vscode.Uri): Promise<Array<[string, vscode.FileType]>> {
    return this.guard(uri, async () => {
      const p = parseSnapshotUri(uri) ?? this.notFound(uri);
      const dir = (names: Iterable<string>): Array<[string, vscode.FileType]> => [...new Set(names)].map((n) => [n, vscode.FileType.Directory]);
      if (p.type === 'root') {
        const { snapshots } = await this.browser.snapshots(p.key);
        return dir(snapshots.map((s) => s.id));
      }
      if (p.type === 'object') throw vscode.FileSystemError.FileNotADirectory(uri);
      if (p.type === 'volumeFile') {
        const entries = await this.browser.files(p.key, p.snapshot, p.volume, p.path);
        if (entries.length === 1 && entries[0].path === p.path && entries[0].type !== 'dir') throw vscode.FileSystemError.FileNotADirectory(uri);
        return entries.map((e) => [e.path.slice(e.path.lastIndexOf('/') + 1), fileType(e)]);
      }
      const contents = await this.browser.snapshotContents(p.key, p.snapshot);
      if (p.type === 'snapshot') return dir(['objects', 'volumes']);
      if (p.type === 'volumesDir') {
        if (p.namespace === undefined) return dir(contents.volumes.map((v) => v.namespace));
        const pvcs = contents.volumes.filter((v) => v.namespace === p.namespace).map((v) => v.pvc);
        return pvcs.length ? dir(pvcs) : this.notFound(uri);
      }
      if (p.namespace === undefined) return dir(contents.namespaces.map((n) => n.namespace || CLUSTER_SCOPED));
      const ns = contents.namespaces.find((n) => n.namespace === p.namespace) ?? this.notFound(uri);
      if (p.group === undefined) return dir(ns.kinds.map((k) => k.group || CORE_GROUP));
      const kinds = ns.kinds.filter((k) => k.group === p.group);
      if (kinds.length === 0) this.notFound(uri);
      if (p.kind === undefined) return dir(kinds.map((k) => k.kind));
      const kind = kinds.find((k) => k.kind === p.kind) ?? this.notFound(uri);
      return kind.names.map((n): [string, vscode.FileType] => [`${n}.yaml`, vscode.FileType.File]);
    });
  }

  readFile(uri: vscode.Uri): Promise<Uint8Array> {
    return this.guard(uri, async () => {
      const p = parseSnapshotUri(uri) ?? this.notFound(uri);
      if (p.type === 'object') return Buffer.from(await this.browser.objectYaml(p.key, p.snapshot, p.ref));
      if (p.type === 'volumeFile') return this.browser.file(p.key, p.snapshot, p.volume, p.path);
      throw vscode.FileSystemError.FileIsADirectory(uri);
    });
  }

  private readonly readOnly = (): never => {
    throw vscode.FileSystemError.NoPermissions('snapshots are read-only: restore the object or file to change it');
  };

  writeFile(): void {
    this.readOnly();
  }

  createDirectory(): void {
    this.readOnly();
  }

  delete(): void {
    this.readOnly();
  }

  rename(): void {
    this.readOnly();
  }

  dispose(): void {
    this.changed.dispose();
  }
}
