import { mkdir, rm, writeFile, chmod } from 'node:fs/promises';
import * as path from 'node:path';
import type { KObject, ObjectApi } from '../contract';
import type { HostDirs } from '../controllers/hostdirs';
import { R } from '../controllers/resources';

/** One bind mount of a container: a host directory (or file) at a path inside it. */
export interface Mount {
  hostPath: string;
  mountPath: string;
  readOnly: boolean;
}

/** A volume that cannot be provided, named so the exec error says which one and why. */
export class VolumeUnavailableError extends Error {}

/**
 * The container's volumeMounts as host directories: a claim's bound
 * volume directory, a per-pod emptyDir, ConfigMap and Secret volumes
 * written out as files (keys, items, modes), and hostPath volumes mapped
 * inside the cluster's data directory.
 */
export async function containerMounts(api: ObjectApi, dirs: HostDirs, pod: KObject, container: any): Promise<Mount[]> {
  const ns = pod.metadata.namespace;
  const uid = pod.metadata.uid ?? pod.metadata.name;
  const volumes = new Map<string, any>((pod.spec?.volumes ?? []).map((v: any) => [v.name, v]));
  const sources = new Map<string, { dir: string; readOnly: boolean }>();
  const resolve = async (v: any): Promise<{ dir: string; readOnly: boolean } | undefined> => {
    if (v.persistentVolumeClaim) {
      const claim = v.persistentVolumeClaim.claimName;
      const pvc = await api.get(R.pvcs, ns, claim);
      if (!pvc?.spec?.volumeName || pvc.status?.phase !== 'Bound') throw new VolumeUnavailableError(`volume "${v.name}": persistentvolumeclaim "${claim}" is not bound`);
      const pv = await api.get(R.pvs, undefined, pvc.spec.volumeName);
      const dir = pv && dirs.ofPersistentVolume(pv);
      if (!dir) throw new VolumeUnavailableError(`volume "${v.name}": persistentvolume "${pvc.spec.volumeName}" has no data on this sandbox node`);
      await mkdir(dir, { recursive: true });
      return { dir, readOnly: !!v.persistentVolumeClaim.readOnly };
    }
    if (v.emptyDir) {
      const dir = dirs.podDir(uid, 'empty-dir', v.name);
      await mkdir(dir, { recursive: true });
      return { dir, readOnly: false };
    }
    if (v.hostPath) {
      const dir = dirs.hostPath(v.hostPath.path);
      if (v.hostPath.type !== 'File' && v.hostPath.type !== 'FileOrCreate') await mkdir(dir, { recursive: true });
      return { dir, readOnly: false };
    }
    if (v.configMap || v.secret || v.projected) {
      const dir = dirs.podDir(uid, 'projected', v.name);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const parts = v.projected ? v.projected.sources ?? [] : [v.configMap ? { configMap: v.configMap } : { secret: v.secret }];
      const defaultMode = (v.projected ?? v.configMap ?? v.secret).defaultMode ?? 0o644;
      for (const part of parts) {
        if (part.configMap) await writeKeys(dir, await configMapFiles(api, ns, part.configMap.name, part.configMap.optional, v.name), part.configMap.items, defaultMode);
        if (part.secret) await writeKeys(dir, await secretFiles(api, ns, part.secret.secretName ?? part.secret.name, part.secret.optional, v.name), part.secret.items, defaultMode);
      }
      return { dir, readOnly: true };
    }
    return undefined;
  };
  const mounts: Mount[] = [];
  for (const vm of container.volumeMounts ?? []) {
    const v = volumes.get(vm.name);
    if (!v) throw new VolumeUnavailableError(`volumeMount "${vm.name}" names no volume of pod "${pod.metadata.name}"`);
    if (!sources.has(vm.name)) {
      const src = await resolve(v);
      if (!src) continue;
      sources.set(vm.name, src);
    }
    const src = sources.get(vm.name)!;
    let hostPath = src.dir;
    if (vm.subPath) {
      hostPath = path.join(src.dir, path.posix.normalize(`/${vm.subPath}`));
      await mkdir(hostPath, { recursive: true });
    }
    mounts.push({ hostPath, mountPath: vm.mountPath, readOnly: src.readOnly || !!vm.readOnly });
  }
  // Parents before children, so a nested mount is not hidden by its parent.
  return mounts.sort((a, b) => a.mountPath.split('/').length - b.mountPath.split('/').length);
}

async function configMapFiles(api: ObjectApi, ns: string | undefined, name: string, optional: boolean | undefined, volume: string): Promise<Map<string, Buffer>> {
  const cm = await api.get(R.configmaps, ns, name);
  if (!cm) {
    if (optional) return new Map();
    throw new VolumeUnavailableError(`volume "${volume}": configmap "${name}" not found`);
  }
  const out = new Map<string, Buffer>();
  for (const [k, val] of Object.entries((cm.data ?? {}) as Record<string, string>)) out.set(k, Buffer.from(val, 'utf8'));
  for (const [k, val] of Object.entries((cm.binaryData ?? {}) as Record<string, string>)) out.set(k, Buffer.from(val, 'base64'));
  return out;
}

async function secretFiles(api: ObjectApi, ns: string | undefined, name: string, optional: boolean | undefined, volume: string): Promise<Map<string, Buffer>> {
  const s = await api.get(R.secrets, ns, name);
  if (!s) {
    if (optional) return new Map();
    throw new VolumeUnavailableError(`volume "${volume}": secret "${name}" not found`);
  }
  const out = new Map<string, Buffer>();
  for (const [k, val] of Object.entries((s.data ?? {}) as Record<string, string>)) out.set(k, Buffer.from(val, 'base64'));
  for (const [k, val] of Object.entries((s.stringData ?? {}) as Record<string, string>)) out.set(k, Buffer.from(val, 'utf8'));
  return out;
}

async function writeKeys(dir: string, files: Map<string, Buffer>, items: { key: string; path: string; mode?: number }[] | undefined, defaultMode: number): Promise<void> {
  const chosen = items?.length ? items.filter((i) => files.has(i.key)).map((i) => ({ key: i.key, rel: i.path, mode: i.mode ?? defaultMode })) : [...files.keys()].map((k) => ({ key: k, rel: k, mode: defaultMode }));
  for (const c of chosen) {
    const target = path.join(dir, path.posix.normalize(`/${c.rel}`));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, files.get(c.key)!);
    await chmod(target, c.mode & 0o777);
  }
}

/** The container's environment: literal values and references to ConfigMap/Secret keys and pod fields. */
export async function containerEnv(api: ObjectApi, pod: KObject, container: any): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await api.get(R.configmaps, ns, from.configMapRef.name);
      for (const [k, v] of Object.entries((cm?.data ?? {}) as Record<string, string>)) env[prefix + k] = v;
    }
    if (from.secretRef) {
      const s = await api.get(R.secrets, ns, from.secretRef.name);
      for (const [k, v] of Object.entries((s?.data ?? {}) as Record<string, string>)) env[prefix + k] = Buffer.from(v, 'base64').toString('utf8');
    }
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n) => env[n] ?? m);
      continue;
    }
    const ref = e.valueFrom ?? {};
    if (ref.configMapKeyRef) {
      const cm = await api.get(R.configmaps, ns, ref.configMapKeyRef.name);
      const v = cm?.data?.[ref.configMapKeyRef.key];
      if (v !== undefined) env[e.name] = v;
    } else if (ref.secretKeyRef) {
      const s = await api.get(R.secrets, ns, ref.secretKeyRef.name);
      const v = s?.data?.[ref.secretKeyRef.key];
      if (v !== undefined) env[e.name] = Buffer.from(v, 'base64').toString('utf8');
    } else if (ref.fieldRef) {
      const fields: Record<string, string | undefined> = {
        'metadata.name': pod.metadata.name,
        'metadata.namespace': ns,
        'metadata.uid': pod.metadata.uid,
        'spec.nodeName': pod.spec?.nodeName,
        'spec.serviceAccountName': pod.spec?.serviceAccountName,
        'status.podIP': pod.status?.podIP,
        'status.hostIP': pod.status?.hostIP,
      };
      const v = fields[ref.fieldRef.fieldPath];
      if (v !== undefined) env[e.name] = v;
    }
  }
  return env;
}
