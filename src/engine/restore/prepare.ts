/**
 * Turns the objects selected from a snapshot into what the target gets:
 * objects the target rebuilds itself are left out (./sanitise skipReason),
 * the rest lose what the source cluster assigned (sanitise), are changed by
 * the profile (./transform) and put in restore order (./order). What is left
 * out is reported, never silently dropped.
 */
import { inParallel } from '../capture/select';
import type { KObject } from '../kube/types';
import { splitApiVersion } from '../repo/catalog';
import { compareForRestore, stageOf } from './order';
import { sanitise, skipReason } from './sanitise';
import type { SnapshotObject } from './select';
import { transform, type TransformEnv } from './transform';
import type { PreparedObject, RestoreProfile, SnapshotObjectRef } from './types';

/** An object of the selection that is not restored, and why. */
export interface SkippedObject {
  source: SnapshotObjectRef;
  reason: string;
}

export interface PreparedRestore {
  /** In restore order. */
  objects: PreparedObject[];
  skipped: SkippedObject[];
  /** The profile's warnings (a Secret to copy values from that the target lacks, ...). */
  warnings: string[];
}

export function refOf(obj: KObject): SnapshotObjectRef {
  const { group, version } = splitApiVersion(obj.apiVersion);
  const ref: SnapshotObjectRef = { group, version, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

const identity = (group: string, kind: string, namespace: string | undefined, name: string): string => `${group}/${kind}/${namespace ?? ''}/${name}`;

/**
 * Prepares every selected object for the target. `isRestored` (what owner
 * references may keep pointing at) and `pvRestored` (whether a PVC keeps its
 * volumeName) are answered from the selection after the skips.
 */
export async function prepareObjects(selected: SnapshotObject[], profile: RestoreProfile, env: TransformEnv, options: { signal?: AbortSignal; parallelism?: number } = {}): Promise<PreparedRestore> {
  const skipped: SkippedObject[] = [];
  const kept: SnapshotObject[] = [];
  for (const s of selected) {
    const reason = skipReason(s.object);
    if (reason) skipped.push({ source: refOf(s.object), reason });
    else kept.push(s);
  }
  const restored = new Set(kept.map(({ object }) => identity(splitApiVersion(object.apiVersion).group, object.kind, object.metadata.namespace, object.metadata.name)));
  const pvs = new Set(kept.filter(({ object }) => object.apiVersion === 'v1' && object.kind === 'PersistentVolume').map(({ object }) => object.metadata.name));
  const ctx = {
    // Owner references carry no namespace: the owner is in the object's namespace, or cluster-scoped.
    isRestored: (ref: { apiVersion: string; kind: string; namespace?: string; name: string }): boolean => {
      const group = splitApiVersion(ref.apiVersion).group;
      return restored.has(identity(group, ref.kind, ref.namespace, ref.name)) || restored.has(identity(group, ref.kind, undefined, ref.name));
    },
    pvRestored: (name: string): boolean => pvs.has(name),
  };

  const results: Array<{ prepared?: PreparedObject; skipped?: SkippedObject; warnings: string[] }> = new Array(kept.length);
  await inParallel(
    kept.map((s, i) => ({ s, i })),
    options.parallelism ?? 8,
    options.signal,
    async ({ s, i }) => {
      const source = refOf(s.object);
      const clean = sanitise(s.object, ctx);
      const t = await transform(clean.object, s.object, profile, env);
      if (!t.object) {
        results[i] = { skipped: { source, reason: t.dropped ?? 'left out by the profile' }, warnings: t.warnings };
        return;
      }
      const group = splitApiVersion(t.object.apiVersion).group;
      results[i] = {
        prepared: { source, object: t.object, stage: stageOf(group, t.object.kind), notes: [...clean.notes, ...t.notes] },
        warnings: t.warnings,
      };
    },
  );
  const objects: PreparedObject[] = [];
  const warnings: string[] = [];
  for (const r of results) {
    if (r.prepared) objects.push(r.prepared);
    if (r.skipped) skipped.push(r.skipped);
    warnings.push(...r.warnings);
  }
  objects.sort(compareForRestore);
  return { objects, skipped, warnings: [...new Set(warnings)] };
}

/** One line about what a restore leaves out: "7 objects of the snapshot are not restored: Pod ×4, ReplicaSet ×2, Secret ×1 (...)". */
export function skippedSummary(skipped: SkippedObject[]): string | undefined {
  if (skipped.length === 0) return undefined;
  const byKind = new Map<string, number>();
  for (const s of skipped) byKind.set(s.source.kind, (byKind.get(s.source.kind) ?? 0) + 1);
  const kinds = [...byKind].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${k} ×${n}`);
  const reasons = [...new Set(skipped.map((s) => s.reason.replace(/,.*$/, '')))].slice(0, 3);
  return `${skipped.length} object${skipped.length === 1 ? '' : 's'} of the snapshot ${skipped.length === 1 ? 'is' : 'are'} not restored: ${kinds.join(', ')} (${reasons.join('; ')})`;
}
