/**
 * Which PersistentVolumeClaims have their data read: every captured claim
 * that is bound, and the claims behind the pod volumes a pod names in its
 * backup-volumes annotation (Velero's convention, and Lifeboat's own).
 */
import type { KObject } from '../kube/types';
import { BACKUP_VOLUMES_ANNOTATIONS, type VolumeTarget } from './types';

const key = (ns: string, name: string): string => `${ns}/${name}`;

/** The claim names a pod's backup-volumes annotations point at, and the named volumes that are not claims. */
export function annotatedClaims(pod: KObject): { claims: string[]; notClaims: string[] } {
  const names = new Set<string>();
  for (const a of BACKUP_VOLUMES_ANNOTATIONS) {
    for (const n of (pod.metadata.annotations?.[a] ?? '').split(',')) if (n.trim()) names.add(n.trim());
  }
  const claims: string[] = [];
  const notClaims: string[] = [];
  for (const n of names) {
    const claim = (pod.spec?.volumes ?? []).find((v: { name?: string }) => v?.name === n)?.persistentVolumeClaim?.claimName;
    if (typeof claim === 'string' && claim) claims.push(claim);
    else notClaims.push(n);
  }
  return { claims, notClaims };
}

function mounts(pod: KObject, claim: string): boolean {
  return (pod.spec?.volumes ?? []).some((v: { persistentVolumeClaim?: { claimName?: string } }) => v?.persistentVolumeClaim?.claimName === claim);
}

export interface VolumeTargetInput {
  /** Claims stored in the snapshot. */
  capturedClaims: KObject[];
  /** Pods in scope, stored or not: their annotations name volumes, and the Running ones mount claims. */
  pods: KObject[];
  /** Pods to look in for where claims are mounted; default `pods`. */
  mountingPods?: KObject[];
  /** Any claims known, to resolve annotated names that are not among the captured claims. */
  claims: KObject[];
  /** PersistentVolumes the user may read. */
  volumes: KObject[];
}

export function volumeTargets(input: VolumeTargetInput): { targets: VolumeTarget[]; warnings: string[] } {
  const warnings: string[] = [];
  const claimsByKey = new Map<string, KObject>();
  for (const c of [...input.claims, ...input.capturedClaims]) claimsByKey.set(key(c.metadata.namespace ?? '', c.metadata.name), c);
  const pvs = new Map(input.volumes.map((v) => [v.metadata.name, v]));

  const wanted = new Map<string, { claim: KObject; reason: VolumeTarget['reason'] }>();
  for (const c of input.capturedClaims) wanted.set(key(c.metadata.namespace ?? '', c.metadata.name), { claim: c, reason: 'in-scope' });
  for (const pod of input.pods) {
    const ns = pod.metadata.namespace ?? '';
    const { claims, notClaims } = annotatedClaims(pod);
    for (const v of notClaims) warnings.push(`pod ${ns}/${pod.metadata.name} names volume "${v}" for backup, but it is not a PersistentVolumeClaim volume of the pod: its data is not captured`);
    for (const name of claims) {
      if (wanted.has(key(ns, name))) continue;
      const claim = claimsByKey.get(key(ns, name));
      if (claim) wanted.set(key(ns, name), { claim, reason: 'annotated' });
      else warnings.push(`pod ${ns}/${pod.metadata.name} names claim ${ns}/${name} for backup, but it was not found: its data is not captured`);
    }
  }

  const targets: VolumeTarget[] = [];
  for (const { claim, reason } of wanted.values()) {
    const ns = claim.metadata.namespace ?? '';
    const name = claim.metadata.name;
    if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) {
      warnings.push(`persistentvolumeclaim ${ns}/${name} is ${claim.status?.phase ?? 'not bound'}, not bound to a volume: its data is not captured`);
      continue;
    }
    const pods = (input.mountingPods ?? input.pods).filter((p) => p.metadata.namespace === ns && p.status?.phase === 'Running' && mounts(p, name));
    const volume = pvs.get(claim.spec.volumeName);
    targets.push({ namespace: ns, pvc: name, claim, ...(volume ? { volume } : {}), pods, reason });
  }
  targets.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pvc.localeCompare(b.pvc));
  return { targets, warnings };
}
