import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { KObject } from '../contract';

/**
 * The CSI driver of the sandbox's host-directory volumes, also its
 * provisioner name (CSI drivers provision under their own name, which must
 * be a DNS subdomain).
 */
export const HOSTPATH_DRIVER = 'hostpath.sandbox.lifeboat.dev';

/**
 * Where a cluster keeps the real bytes behind its volumes. Every path is
 * inside the cluster's data directory: a hostPath or local volume named in
 * a manifest maps below `hostpath/`, so nothing outside it is touched.
 */
export class HostDirs {
  constructor(readonly root: string) {}

  volume(handle: string): string {
    return path.join(this.root, 'volumes', safe(handle));
  }

  snapshot(handle: string): string {
    return path.join(this.root, 'snapshots', safe(handle));
  }

  hostPath(p: string): string {
    const rel = path.posix.normalize(`/${p}`).replace(/^\/+/, '');
    return path.join(this.root, 'hostpath', rel);
  }

  podDir(uid: string, kind: string, name: string): string {
    return path.join(this.podRoot(uid), kind, safe(name));
  }

  /** Everything a pod had on its node (emptyDirs, projected files): removed with the pod. */
  podRoot(uid: string): string {
    return path.join(this.root, 'pods', safe(uid));
  }

  /** The host directory behind a PersistentVolume, or undefined for a kind it cannot back. */
  ofPersistentVolume(pv: KObject): string | undefined {
    const spec = pv.spec ?? {};
    if (spec.csi?.driver === HOSTPATH_DRIVER) return this.volume(String(spec.csi.volumeHandle));
    if (spec.hostPath?.path) return this.hostPath(String(spec.hostPath.path));
    if (spec.local?.path) return this.hostPath(String(spec.local.path));
    if (spec.nfs?.path) return this.hostPath(`nfs/${spec.nfs.server ?? 'server'}/${spec.nfs.path}`);
    return undefined;
  }
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Copies a directory tree with modes, times and symlinks, streaming through `cp -a`. */
export async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn('cp', ['-a', `${from}/.`, `${to}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4000) err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`copying volume data from ${from} to ${to} failed: ${err.trim() || `cp exited ${code}`}`))));
  });
}

/** Bytes used below a directory (for a snapshot's restoreSize). */
export async function treeSize(dir: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('du', ['-sb', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve(0));
    child.on('close', () => resolve(Number(out.split(/\s/)[0]) || 0));
  });
}
