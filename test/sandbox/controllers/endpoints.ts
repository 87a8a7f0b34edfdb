import type { KObject, ObjectApi } from '../contract';
import type { ControllerSpec } from './loop';
import { isPodReady } from './pods';
import { R, errorCode, isNotFound, isTerminating, jsonEqual, ownerRef } from './resources';
import { matchesMap } from './selector';

const MANAGED_BY = 'endpointslice-controller.k8s.io';

function resolvePort(svcPort: any, pod: KObject): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(String(target))) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  }
  return undefined;
}

/**
 * Endpoints and EndpointSlices for every Service with a selector: the
 * IPs of the pods it selects, ready ones as addresses and the rest as
 * notReadyAddresses, with target ports resolved by name.
 */
export function endpointsController(api: ObjectApi): ControllerSpec {
  return {
    name: 'endpoints',
    primary: R.services,
    related: [
      {
        key: R.pods,
        map: async (pod) =>
          (await api.list(R.services, pod.metadata.namespace))
            .filter((s) => matchesMap(s.spec?.selector, pod.metadata.labels))
            .map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
      },
      { key: R.endpoints, map: (ep) => [`${ep.metadata.namespace}/${ep.metadata.name}`] },
    ],
    async reconcile(ns, name) {
      const svc = await api.get(R.services, ns, name);
      if (!svc) {
        // Endpoints carry no owner reference: the controller removes them with their Service.
        try {
          await api.delete(R.endpoints, ns, name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        return;
      }
      if ( isTerminating(svc) || !svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) return;
      const pods = (await api.list(R.pods, ns)).filter(
        (p) => matchesMap(svc.spec.selector, p.metadata.labels) && p.status?.podIP && !isTerminating(p) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
      );
      pods.sort((a, b) => a.status.podIP.localeCompare(b.status.podIP));
      const ports: any[] = svc.spec.ports ?? [];
      const address = (p: KObject): any => ({
        ip: p.status.podIP,
        nodeName: p.spec?.nodeName,
        targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
      });
      const ready = pods.filter(isPodReady);
      const notReady = pods.filter((p) => !isPodReady(p));
      const epPorts = (pods[0] ? ports : []).map((sp) => JSON.parse(JSON.stringify({ name: sp.name, port: resolvePort(sp, pods[0]), protocol: sp.protocol ?? 'TCP', appProtocol: sp.appProtocol })));
      const subsets = pods.length
        ? [JSON.parse(JSON.stringify({ addresses: ready.length ? ready.map(address) : undefined, notReadyAddresses: notReady.length ? notReady.map(address) : undefined, ports: epPorts.length ? epPorts : undefined }))]
        : undefined;
      const labels = { ...(svc.metadata.labels ?? {}) };
      const existing = await api.get(R.endpoints, ns, name);
      const ep: KObject = {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { ...(existing?.metadata ?? {}), name, namespace: ns, labels: Object.keys(labels).length ? labels : undefined },
        ...(subsets ? { subsets } : {}),
      };
      if (!existing) {
        try {
          await api.create(R.endpoints, ep);
        } catch (err) {
          if (errorCode(err) !== 409) throw err;
        }
      } else if (!jsonEqual(existing.subsets ?? null, ep.subsets ?? null) || !jsonEqual(existing.metadata.labels ?? {}, labels)) {
        await api.update(R.endpoints, ep);
      }
      await reconcileSlice(api, svc, pods, ports);
    },
  };
}

async function reconcileSlice(api: ObjectApi, svc: KObject, pods: KObject[], ports: any[]): Promise<void> {
  const ns = svc.metadata.namespace;
  let slices: KObject[];
  try {
    slices = (await api.list(R.endpointslices, ns)).filter(
      (s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name && s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === MANAGED_BY,
    );
  } catch (err) {
    // A server without discovery.k8s.io still serves Endpoints.
    if (isNotFound(err)) return;
    throw err;
  }
  const endpoints = pods.map((p) => {
    const ready = isPodReady(p);
    return {
      addresses: [p.status.podIP],
      conditions: { ready, serving: ready, terminating: false },
      nodeName: p.spec?.nodeName,
      targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
    };
  });
  const slicePorts = (pods[0] ? ports : []).map((sp) => JSON.parse(JSON.stringify({ name: sp.name ?? '', port: resolvePort(sp, pods[0]), protocol: sp.protocol ?? 'TCP', appProtocol: sp.appProtocol })));
  const [slice, ...extra] = slices;
  for (const s of extra) {
    try {
      await api.delete(R.endpointslices, ns, s.metadata.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  const labels = {
    ...(svc.metadata.labels ?? {}),
    'endpointslice.kubernetes.io/managed-by': MANAGED_BY,
    'kubernetes.io/service-name': svc.metadata.name,
  };
  if (!slice) {
    await api.create(R.endpointslices, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: '', generateName: `${svc.metadata.name}-`, namespace: ns, labels, ownerReferences: [ownerRef(svc)] },
      addressType: 'IPv4',
      endpoints,
      ports: slicePorts,
    });
    return;
  }
  if (jsonEqual(slice.endpoints ?? [], endpoints) && jsonEqual(slice.ports ?? [], slicePorts)) return;
  await api.update(R.endpointslices, { ...slice, endpoints, ports: slicePorts });
}
