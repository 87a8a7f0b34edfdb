import type { KObject, ObjectApi } from '../contract';
import { templateHash } from './hash';
import { recordEvent } from './events';
import type { ControllerSpec } from './loop';
import { ownerKeys } from './loop';
import { R, clone, isControlledBy, isNotFound, isTerminating, jsonEqual, ownerRef, setCondition, type Condition } from './resources';

const REVISION = 'deployment.kubernetes.io/revision';
const SOURCE = { component: 'deployment-controller' };

function revisionOf(rs: KObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
}

/** maxSurge/maxUnavailable: an int or a percentage of replicas. */
function intOrPercent(v: unknown, total: number, roundUp: boolean, dflt: string): number {
  const val = v ?? dflt;
  if (typeof val === 'number') return val;
  const m = /^(\d+)%$/.exec(String(val));
  if (!m) return Number(val) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * Deployment → ReplicaSets: one ReplicaSet per pod-template revision, the
 * new one scaled up while the old ones are scaled down as new pods become
 * ready, with the status and conditions `kubectl rollout status` reads.
 */
export function deploymentController(api: ObjectApi): ControllerSpec {
  return {
    name: 'deployment',
    primary: R.deployments,
    related: [{ key: R.replicasets, map: ownerKeys('Deployment') }],
    async reconcile(ns, name) {
      let d = await api.get(R.deployments, ns, name);
      if (!d || isTerminating(d)) return;
      const desired = d.spec?.replicas ?? 1;
      const all = (await api.list(R.replicasets, ns)).filter((rs) => isControlledBy(rs, d!));
      const hash = templateHash(d.spec?.template, d.status?.collisionCount ?? 0);
      let newRS = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
      const maxRevision = all.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
      const surge = intOrPercent(d.spec?.strategy?.rollingUpdate?.maxSurge, desired, true, '25%');
      let created = false;
      // Recreate: the new ReplicaSet grows only once every old pod is gone.
      const recreate = d.spec?.strategy?.type === 'Recreate';
      const oldPodsLeft = (rsList: KObject[]): boolean =>
        rsList.some((rs) => rs.metadata.labels?.['pod-template-hash'] !== hash && ((rs.status?.replicas ?? 0) > 0 || (rs.spec?.replicas ?? 0) > 0));
      const target = recreate && oldPodsLeft(all) ? 0 : desired;
      if (!newRS) {
        const template = clone(d.spec?.template ?? {});
        template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash } };
        const rs: KObject = {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: `${name}-${hash}`,
            namespace: ns,
            labels: { ...(d.spec?.template?.metadata?.labels ?? {}), 'pod-template-hash': hash },
            annotations: {
              'deployment.kubernetes.io/desired-replicas': String(desired),
              'deployment.kubernetes.io/max-replicas': String(desired + surge),
              [REVISION]: String(maxRevision + 1),
            },
            ownerReferences: [ownerRef(d)],
          },
          spec: {
            replicas: target,
            minReadySeconds: d.spec?.minReadySeconds,
            selector: {
              ...(d.spec?.selector ?? {}),
              matchLabels: { ...(d.spec?.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
            },
            template,
          },
        };
        newRS = await api.create(R.replicasets, rs);
        if (target > 0) await recordEvent(api, d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${newRS.metadata.name} from 0 to ${target}`, SOURCE);
        all.push(newRS);
        created = true;
      } else if (revisionOf(newRS) < maxRevision) {
        // A rollback to an older template makes its ReplicaSet the newest revision.
        newRS = await api.update(R.replicasets, {
          ...newRS,
          metadata: { ...newRS.metadata, annotations: { ...(newRS.metadata.annotations ?? {}), [REVISION]: String(maxRevision + 1) } },
        });
      }
      const paused = !!d.spec?.paused;
      const olds = all.filter((rs) => rs.metadata.uid !== newRS!.metadata.uid);
      if (!paused) {
        if ((newRS.spec?.replicas ?? 0) !== target || newRS.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'] !== String(desired)) {
          const from = newRS.spec?.replicas ?? 0;
          if (from !== target) await recordEvent(api, d, 'Normal', 'ScalingReplicaSet', `Scaled ${target > from ? 'up' : 'down'} replica set ${newRS.metadata.name} from ${from} to ${target}`, SOURCE);
          newRS = await api.update(R.replicasets, {
            ...newRS,
            metadata: {
              ...newRS.metadata,
              annotations: {
                ...(newRS.metadata.annotations ?? {}),
                'deployment.kubernetes.io/desired-replicas': String(desired),
                'deployment.kubernetes.io/max-replicas': String(desired + surge),
              },
            },
            spec: { ...newRS.spec, replicas: target },
          });
        }
        // Old pods go as new ones become ready, so a rollout never drops below the wanted count.
        let keepOld = recreate ? 0 : Math.max(0, desired - (newRS.status?.readyReplicas ?? 0));
        const byNewest = [...olds].sort((a, b) => revisionOf(b) - revisionOf(a));
        for (const rs of byNewest) {
          const want = Math.min(keepOld, rs.spec?.replicas ?? 0);
          keepOld -= want;
          if ((rs.spec?.replicas ?? 0) !== want) {
            await api.update(R.replicasets, { ...rs, spec: { ...rs.spec, replicas: want } });
            await recordEvent(api, d, 'Normal', 'ScalingReplicaSet', `Scaled ${want > (rs.spec?.replicas ?? 0) ? 'up' : 'down'} replica set ${rs.metadata.name} from ${rs.spec?.replicas ?? 0} to ${want}`, SOURCE);
            rs.spec = { ...rs.spec, replicas: want };
          }
        }
        const limit = d.spec?.revisionHistoryLimit ?? 10;
        const idle = byNewest.filter((rs) => (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0);
        for (const rs of idle.slice(limit)) {
          try {
            await api.delete(R.replicasets, ns, rs.metadata.name);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
      }

      if (d.metadata.annotations?.[REVISION] !== String(revisionOf(newRS))) {
        d = await api.update(R.deployments, {
          ...d,
          metadata: { ...d.metadata, annotations: { ...(d.metadata.annotations ?? {}), [REVISION]: String(revisionOf(newRS)) } },
        });
      }

      const sum = (f: (rs: KObject) => number): number => all.reduce((n, rs) => n + f(rs), 0);
      const replicas = sum((rs) => rs.status?.replicas ?? 0);
      const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
      const available = sum((rs) => rs.status?.availableReplicas ?? 0);
      const updated = newRS.status?.replicas ?? 0;
      const specTotal = sum((rs) => (rs.metadata.uid === newRS!.metadata.uid ? newRS!.spec?.replicas ?? 0 : rs.spec?.replicas ?? 0));
      const maxUnavailable = intOrPercent(d.spec?.strategy?.rollingUpdate?.maxUnavailable, desired, false, '25%');
      const status: Record<string, any> = {
        observedGeneration: d.metadata.generation ?? 1,
        replicas: replicas || undefined,
        updatedReplicas: updated || undefined,
        readyReplicas: ready || undefined,
        availableReplicas: available || undefined,
        unavailableReplicas: specTotal - available > 0 ? specTotal - available : undefined,
        collisionCount: d.status?.collisionCount,
      };
      let conditions: Condition[] = d.status?.conditions ?? [];
      const availableOk = available >= desired - maxUnavailable;
      conditions = setCondition(
        conditions,
        availableOk
          ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
          : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
        true,
      );
      const rsName = newRS.metadata.name;
      const complete = updated === desired && replicas === desired && available === desired;
      const progressing = paused
        ? { type: 'Progressing', status: 'Unknown' as const, reason: 'DeploymentPaused', message: 'Deployment is paused' }
        : complete
          ? { type: 'Progressing', status: 'True' as const, reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }
          : created
            ? { type: 'Progressing', status: 'True' as const, reason: 'NewReplicaSetCreated', message: `Created new replica set "${rsName}"` }
            : { type: 'Progressing', status: 'True' as const, reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
      const prevProgress = conditions.find((c) => c.type === 'Progressing');
      conditions = setCondition(conditions, progressing, true);
      // The real controller keeps the reason's first transition time while progress continues.
      if (prevProgress && prevProgress.status === progressing.status) {
        const c = conditions.find((x) => x.type === 'Progressing')!;
        c.lastTransitionTime = prevProgress.lastTransitionTime;
      }
      status.conditions = [conditions.find((c) => c.type === 'Available'), conditions.find((c) => c.type === 'Progressing'), ...conditions.filter((c) => c.type !== 'Available' && c.type !== 'Progressing')];
      const clean = JSON.parse(JSON.stringify(status));
      if (jsonEqual(clean, d.status ?? {})) return;
      await api.updateStatus(R.deployments, { ...d, status: clean });
    },
  };
}
