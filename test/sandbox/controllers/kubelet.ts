import { createHash, randomBytes } from 'node:crypto';
import type { ObjectApi } from '../contract';
import { recordEvent } from './events';
import type { ControllerSpec, RunningController } from './loop';
import type { PodCache } from './podcache';
import { R, clone, controllerOf, isNotFound, jsonEqual, now, setCondition } from './resources';

/** How long a pod shows ContainerCreating, and how long a Job's pod runs. */
export interface KubeletTiming {
  startMs: number;
  jobRunMs: number;
}

/** The registry-qualified form of an image reference, as container runtimes report it. */
export function qualifiedImage(image: string): string {
  const [first] = image.split('/');
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  let ref = hasRegistry ? image : `docker.io/${image.includes('/') ? image : `library/${image}`}`;
  if (!/[:@][^/]*$/.test(ref.slice(ref.lastIndexOf('/')))) ref += ':latest';
  return ref;
}

function imageId(image: string): string {
  const ref = qualifiedImage(image);
  const repo = ref.replace(/[:@][^/]*$/, '');
  return `${repo}@sha256:${createHash('sha256').update(ref).digest('hex')}`;
}

function qosClass(spec: any): string {
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const CONDITION_ORDER = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];

/** Pod conditions in the order the kubelet reports them. */
function orderConditions<T extends { type: string }>(conditions: T[]): T[] {
  const rank = (c: T): number => {
    const i = CONDITION_ORDER.indexOf(c.type);
    return i < 0 ? CONDITION_ORDER.length : i;
  };
  return [...conditions].sort((a, b) => rank(a) - rank(b));
}

/**
 * The kubelets of all sandbox nodes: a pod bound to a node shows
 * ContainerCreating briefly, then runs (podIP from the node's 10.244.N.0/24,
 * every container ready). A Job's pods run for a moment and succeed.
 */
export function kubeletController(api: ObjectApi, timing: KubeletTiming, cache: PodCache, self: () => RunningController | undefined): ControllerSpec {
  const nextIp = new Map<string, number>();
  // Addresses held by pods already stored (say, after a restart on the same etcd) are skipped.
  const allocate = (nodeIndex: number, nodeName: string, used: Set<string>): string => {
    for (let tries = 0; tries < 253; tries++) {
      const n = nextIp.get(nodeName) ?? 2;
      nextIp.set(nodeName, n >= 254 ? 2 : n + 1);
      const ip = `10.244.${nodeIndex}.${n}`;
      if (!used.has(ip)) return ip;
    }
    return `10.244.${nodeIndex}.254`;
  };
  return {
    name: 'kubelet',
    primary: R.pods,
    async reconcile(ns, name) {
      const pod = await api.get(R.pods, ns, name);
      if (!pod || !pod.spec?.nodeName) return;
      const nodes = await api.list(R.nodes);
      const nodeIndex = nodes.findIndex((n) => n.metadata.name === pod.spec.nodeName);
      if (nodeIndex < 0) return;
      const node = nodes[nodeIndex];
      if (pod.metadata.deletionTimestamp) {
        // The graceful part of a delete is over as soon as our (imaginary) containers stop.
        if (!pod.metadata.finalizers?.length) {
          try {
            await api.delete(R.pods, ns, name);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        return;
      }
      const phase = pod.status?.phase ?? 'Pending';
      if (phase === 'Succeeded' || phase === 'Failed') return;
      const hostIP = (node.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP')?.address ?? '172.18.0.2';
      const status = clone(pod.status ?? {});
      const ts = now();
      const containers: any[] = pod.spec.containers ?? [];
      const inits: any[] = pod.spec.initContainers ?? [];
      const isJob = controllerOf(pod)?.kind === 'Job';
      status.qosClass ??= qosClass(pod.spec);
      if (!status.startTime) {
        status.phase = 'Pending';
        status.hostIP = hostIP;
        status.hostIPs = [{ ip: hostIP }];
        status.startTime = ts;
        status.conditions = setCondition(status.conditions, { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null });
        status.conditions = setCondition(status.conditions, { type: 'Initialized', status: 'True', lastProbeTime: null });
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`, lastProbeTime: null });
        status.conditions = setCondition(status.conditions, { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`, lastProbeTime: null });
        status.conditions = setCondition(status.conditions, { type: 'PodScheduled', status: 'True', lastProbeTime: null });
        status.containerStatuses = containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          started: false,
          restartCount: 0,
          state: { waiting: { reason: 'ContainerCreating' } },
          lastState: {},
        }));
        status.conditions = orderConditions(status.conditions);
        await api.updateStatus(R.pods, { ...pod, status });
        self()?.enqueue(`${ns}/${name}`, timing.startMs);
        return;
      }
      if (phase === 'Pending') {
        const started = Date.parse(status.startTime);
        if (Date.now() - started < timing.startMs) {
          self()?.enqueue(`${ns}/${name}`, Math.max(20, timing.startMs - (Date.now() - started)));
          return;
        }
        // Host-network pods share the node's address.
        const used = new Set(cache.onNode(node.metadata.name).filter((p) => p.status?.podIP).map((p) => p.status.podIP as string));
        const podIP = pod.spec.hostNetwork ? hostIP : allocate(nodeIndex + 1, node.metadata.name, used);
        status.phase = 'Running';
        status.podIP = podIP;
        status.podIPs = [{ ip: podIP }];
        for (const type of ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
          status.conditions = setCondition(status.conditions, { type, status: 'True', lastProbeTime: null });
        }
        status.conditions = orderConditions(status.conditions.map((c: any) => ({ type: c.type, status: c.status, lastProbeTime: null, lastTransitionTime: c.lastTransitionTime })));
        if (inits.length) {
          status.initContainerStatuses = inits.map((c) => ({
            name: c.name,
            image: qualifiedImage(c.image ?? ''),
            imageID: imageId(c.image ?? ''),
            containerID: `containerd://${randomBytes(32).toString('hex')}`,
            ready: true,
            started: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: status.startTime, finishedAt: ts, containerID: undefined } },
            lastState: {},
          }));
        }
        status.containerStatuses = containers.map((c) => ({
          name: c.name,
          image: qualifiedImage(c.image ?? ''),
          imageID: imageId(c.image ?? ''),
          containerID: `containerd://${randomBytes(32).toString('hex')}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: ts } },
          lastState: {},
          volumeMounts: (c.volumeMounts ?? []).map((m: any) => JSON.parse(JSON.stringify({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly || undefined, recursiveReadOnly: m.readOnly ? 'Disabled' : undefined }))),
        }));
        const clean = JSON.parse(JSON.stringify(status));
        await api.updateStatus(R.pods, { ...pod, status: clean });
        const source = { component: 'kubelet', host: node.metadata.name };
        for (const c of [...inits, ...containers]) {
          await recordEvent(api, pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, source);
          await recordEvent(api, pod, 'Normal', 'Created', `Created container: ${c.name}`, source);
          await recordEvent(api, pod, 'Normal', 'Started', `Started container ${c.name}`, source);
        }
        if (isJob) self()?.enqueue(`${ns}/${name}`, timing.jobRunMs);
        return;
      }
      if (phase === 'Running' && isJob) {
        const running = status.containerStatuses?.[0]?.state?.running?.startedAt;
        const since = running ? Date.now() - Date.parse(running) : timing.jobRunMs;
        if (since < timing.jobRunMs) {
          self()?.enqueue(`${ns}/${name}`, Math.max(20, timing.jobRunMs - since));
          return;
        }
        status.phase = 'Succeeded';
        status.conditions = setCondition(status.conditions, { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null });
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'PodCompleted', lastProbeTime: null });
        status.conditions = setCondition(status.conditions, { type: 'ContainersReady', status: 'False', reason: 'PodCompleted', lastProbeTime: null });
        status.containerStatuses = (status.containerStatuses ?? []).map((cs: any) => ({
          ...cs,
          ready: false,
          started: false,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: cs.state?.running?.startedAt ?? ts, finishedAt: ts, containerID: cs.containerID } },
        }));
        if (!jsonEqual(status, pod.status)) await api.updateStatus(R.pods, { ...pod, status });
      }
    },
  };
}
