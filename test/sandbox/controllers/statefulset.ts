import type { KObject, ObjectApi } from '../contract';
import { templateHash } from './hash';
import { recordEvent } from './events';
import type { ControllerSpec } from './loop';
import { ownerKeys } from './loop';
import { deletePod, isPodActive, isPodReady, ownedPods, podFromTemplate } from './pods';
import { R, errorCode, isTerminating, jsonEqual, ownerRef } from './resources';

const REVISION_LABEL = 'controller-revision-hash';
const SOURCE = { component: 'statefulset-controller' };

/**
 * StatefulSet → pods NAME-0..N-1 created in order (each waits for the one
 * before it to be ready unless podManagementPolicy is Parallel), a PVC per
 * volumeClaimTemplate and ordinal (TEMPLATE-NAME-N, kept when the set
 * shrinks, as the default retention policy does), and rolling updates from
 * the highest ordinal down.
 */
export function statefulSetController(api: ObjectApi): ControllerSpec {
  return {
    name: 'statefulset',
    primary: R.statefulsets,
    related: [{ key: R.pods, map: ownerKeys('StatefulSet') }],
    async reconcile(ns, name) {
      const sts = await api.get(R.statefulsets, ns, name);
      if (!sts || isTerminating(sts)) return;
      const desired = sts.spec?.replicas ?? 1;
      const updateRevision = `${name}-${templateHash(sts.spec?.template, sts.status?.collisionCount ?? 0)}`;
      await ensureRevision(api, sts, updateRevision);
      const parallel = sts.spec?.podManagementPolicy === 'Parallel';
      const pods = (await ownedPods(api, sts)).filter((p) => !isTerminating(p));
      const byOrdinal = new Map<number, KObject>();
      for (const p of pods) {
        const m = new RegExp(`^${escape(name)}-(\\d+)$`).exec(p.metadata.name);
        if (m) byOrdinal.set(Number(m[1]), p);
      }
      // Failed or finished pods are replaced under the same name.
      for (const [i, p] of byOrdinal) {
        if (!isPodActive(p)) {
          await deletePod(api, p);
          byOrdinal.delete(i);
        }
      }
      for (let i = 0; i < desired; i++) {
        if (byOrdinal.has(i)) {
          if (!parallel && !isPodReady(byOrdinal.get(i)!)) break;
          continue;
        }
        await ensureClaims(api, sts, i);
        const podName = `${name}-${i}`;
        const pod = podFromTemplate(sts, sts.spec?.template, { name: podName }, {
          [REVISION_LABEL]: updateRevision,
          'statefulset.kubernetes.io/pod-name': podName,
          'apps.kubernetes.io/pod-index': String(i),
        });
        pod.spec.hostname = podName;
        if (sts.spec?.serviceName) pod.spec.subdomain = sts.spec.serviceName;
        const claimVolumes = (sts.spec?.volumeClaimTemplates ?? []).map((t: KObject) => ({
          name: t.metadata.name,
          persistentVolumeClaim: { claimName: `${t.metadata.name}-${name}-${i}` },
        }));
        const names = new Set(claimVolumes.map((v: { name: string }) => v.name));
        pod.spec.volumes = [...claimVolumes, ...(pod.spec.volumes ?? []).filter((v: { name: string }) => !names.has(v.name))];
        try {
          byOrdinal.set(i, await api.create(R.pods, pod));
          await recordEvent(api, sts, 'Normal', 'SuccessfulCreate', `create Pod ${podName} in StatefulSet ${name} successful`, SOURCE);
        } catch (err) {
          if (errorCode(err) !== 409) throw err;
        }
        if (!parallel) break;
      }
      // Scale down from the highest ordinal, one at a time unless Parallel.
      const extra = [...byOrdinal.keys()].filter((i) => i >= desired).sort((a, b) => b - a);
      for (const i of parallel ? extra : extra.slice(0, 1)) {
        await deletePod(api, byOrdinal.get(i)!);
        await recordEvent(api, sts, 'Normal', 'SuccessfulDelete', `delete Pod ${name}-${i} in StatefulSet ${name} successful`, SOURCE);
        byOrdinal.delete(i);
      }
      // Rolling update: replace the highest stale pod once every other pod is ready.
      const onDelete = sts.spec?.updateStrategy?.type === 'OnDelete';
      const live = [...byOrdinal.entries()].sort((a, b) => b[0] - a[0]);
      if (!onDelete && extra.length === 0 && live.every(([, p]) => isPodReady(p))) {
        const stale = live.find(([, p]) => p.metadata.labels?.[REVISION_LABEL] !== updateRevision);
        if (stale) {
          await deletePod(api, stale[1]);
          byOrdinal.delete(stale[0]);
        }
      }
      const current = [...byOrdinal.values()];
      const updated = current.filter((p) => p.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
      const ready = current.filter(isPodReady).length;
      const done = updated === current.length && current.length === desired;
      const currentRevision = done ? updateRevision : sts.status?.currentRevision ?? updateRevision;
      const status = JSON.parse(
        JSON.stringify({
          observedGeneration: sts.metadata.generation ?? 1,
          replicas: current.length,
          readyReplicas: ready || undefined,
          currentReplicas: (done ? updated : current.filter((p) => p.metadata.labels?.[REVISION_LABEL] === currentRevision).length) || undefined,
          updatedReplicas: updated || undefined,
          availableReplicas: ready,
          currentRevision,
          updateRevision,
          collisionCount: sts.status?.collisionCount ?? 0,
        }),
      );
      if (jsonEqual(status, sts.status ?? {})) return;
      await api.updateStatus(R.statefulsets, { ...sts, status });
    },
  };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function ensureClaims(api: ObjectApi, sts: KObject, ordinal: number): Promise<void> {
  for (const t of (sts.spec?.volumeClaimTemplates ?? []) as KObject[]) {
    const claimName = `${t.metadata.name}-${sts.metadata.name}-${ordinal}`;
    if (await api.get(R.pvcs, sts.metadata.namespace, claimName)) continue;
    const retention = sts.spec?.persistentVolumeClaimRetentionPolicy;
    const owned = retention?.whenDeleted === 'Delete';
    const pvc: KObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: claimName,
        namespace: sts.metadata.namespace,
        labels: { ...(t.metadata.labels ?? {}), ...(sts.spec?.selector?.matchLabels ?? {}) },
        ...(t.metadata.annotations ? { annotations: t.metadata.annotations } : {}),
        ...(owned ? { ownerReferences: [{ ...ownerRef(sts), controller: true }] } : {}),
      },
      spec: { ...(t.spec ?? {}) },
    };
    try {
      await api.create(R.pvcs, pvc);
      await recordEvent(api, sts, 'Normal', 'SuccessfulCreate', `create Claim ${claimName} Pod ${sts.metadata.name}-${ordinal} in StatefulSet ${sts.metadata.name} success`, SOURCE);
    } catch (err) {
      if (errorCode(err) !== 409) throw err;
    }
  }
}

async function ensureRevision(api: ObjectApi, sts: KObject, revisionName: string): Promise<void> {
  try {
    if (await api.get(R.controllerrevisions, sts.metadata.namespace, revisionName)) return;
    const existing = (await api.list(R.controllerrevisions, sts.metadata.namespace)).filter((r) =>
      r.metadata.ownerReferences?.some((o) => o.uid === sts.metadata.uid),
    );
    const revision = existing.reduce((m, r) => Math.max(m, Number(r.revision) || 0), 0) + 1;
    await api.create(R.controllerrevisions, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: revisionName,
        namespace: sts.metadata.namespace,
        labels: { ...(sts.spec?.selector?.matchLabels ?? {}), [REVISION_LABEL]: revisionName.slice(sts.metadata.name.length + 1) },
        ownerReferences: [ownerRef(sts)],
      },
      data: { spec: { template: { ...sts.spec?.template, $patch: 'replace' } } },
      revision,
    });
  } catch (err) {
    // Revisions are bookkeeping; a server without them still runs the set.
    const code = errorCode(err);
    if (code !== 409 && code !== 404) throw err;
  }
}
