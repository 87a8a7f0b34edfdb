/**
 * Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks
 * for: the columns and cell values kube-apiserver's printers produce for
 * the common kinds, CRD additionalPrinterColumns, and the default
 * Name / Created At table for everything else.
 */
import type { KObject } from '../contract';
import { crdVersion, type KindInfo } from './kinds';
import { readJsonPath } from './registry';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number | boolean | null;

interface Printer {
  columns: Column[];
  row: (o: KObject, now: number) => Cell[];
}

const col = (name: string, type = 'string', priority = 0, format = ''): Column => ({ name, type, format, description: descriptions[name] ?? '', priority });
const nameCol = (): Column => ({ name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names', priority: 0 });
const descriptions: Record<string, string> = {
  Age: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
};

/** k8s.io/apimachinery duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(o: KObject, now: number): string {
  const t = o.metadata.creationTimestamp;
  if (!t) return '<unknown>';
  return humanDuration(now - Date.parse(t));
}

function since(t: string | undefined, now: number): string {
  return t ? humanDuration(now - Date.parse(t)) : '<unknown>';
}

const none = (v: unknown): string => (v === undefined || v === null || v === '' ? '<none>' : String(v));

function selectorString(sel: any): string {
  if (!sel) return '<none>';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

function mapSelector(m: Record<string, string> | undefined): string {
  const e = Object.entries(m ?? {});
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

function containers(o: KObject): [string, string] {
  const cs: any[] = o.spec?.template?.spec?.containers ?? o.spec?.jobTemplate?.spec?.template?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(',')];
}

function podStatus(p: KObject): { ready: string; status: string; restarts: string } {
  const spec = p.spec ?? {};
  const st = p.status ?? {};
  const total = (spec.containers ?? []).length;
  let ready = 0;
  let restarts = 0;
  let lastRestart: string | undefined;
  let reason: string = st.reason ?? st.phase ?? 'Pending';
  const inits: any[] = st.initContainerStatuses ?? [];
  let initializing = false;
  inits.forEach((c, i) => {
    restarts += c.restartCount ?? 0;
    if (c.state?.terminated?.exitCode === 0) return;
    if (initializing) return;
    if (c.state?.terminated) reason = c.state.terminated.reason ? `Init:${c.state.terminated.reason}` : `Init:ExitCode:${c.state.terminated.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    initializing = true;
  });
  if (!initializing) {
    let hasRunning = false;
    for (const c of [...(st.containerStatuses ?? [])].reverse()) {
      restarts += c.restartCount ?? 0;
      if (c.lastState?.terminated?.finishedAt) lastRestart = c.lastState.terminated.finishedAt;
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = (st.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
  }
  if (p.metadata.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  let r = String(restarts);
  if (lastRestart) r = `${restarts} (${humanDuration(Date.now() - Date.parse(lastRestart))} ago)`;
  return { ready: `${ready}/${total}`, status: reason, restarts: r };
}

function servicePorts(o: KObject): string {
  const ports: any[] = o.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

function externalIP(o: KObject): string {
  const s = o.spec ?? {};
  const ingress: any[] = o.status?.loadBalancer?.ingress ?? [];
  const lb = ingress.map((i) => i.ip ?? i.hostname).filter(Boolean);
  switch (s.type) {
    case 'ClusterIP':
    case undefined:
      return s.externalIPs?.length ? s.externalIPs.join(',') : '<none>';
    case 'NodePort':
      return s.externalIPs?.length ? s.externalIPs.join(',') : '<none>';
    case 'LoadBalancer':
      return lb.length || s.externalIPs?.length ? [...lb, ...(s.externalIPs ?? [])].join(',') : '<pending>';
    case 'ExternalName':
      return s.externalName ?? '<none>';
  }
  return '<unknown>';
}

function accessModes(modes: string[] | undefined): string {
  const short: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
  return (modes ?? []).map((m) => short[m] ?? m).join(',');
}

function endpointsList(o: KObject): string {
  const out: string[] = [];
  for (const s of o.subsets ?? []) {
    for (const a of s.addresses ?? []) {
      if (!(s.ports ?? []).length) out.push(a.ip);
      for (const p of s.ports ?? []) out.push(`${a.ip}:${p.port}`);
    }
  }
  if (!out.length) return '<none>';
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',');
}

function nodeStatus(o: KObject): string {
  const ready = (o.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  let s = ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
  if (o.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

function nodeRoles(o: KObject): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean);
  return roles.length ? roles.sort().join(',') : '<none>';
}

function jobStatus(o: KObject): string {
  const conds: any[] = o.status?.conditions ?? [];
  const has = (t: string): boolean => conds.some((c) => c.type === t && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (o.metadata.deletionTimestamp) return 'Terminating';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (has('Suspended')) return 'Suspended';
  return 'Running';
}

function jobDuration(o: KObject, now: number): string {
  const start = o.status?.startTime;
  if (!start) return '';
  const end = o.status?.completionTime ? Date.parse(o.status.completionTime) : now;
  return humanDuration(end - Date.parse(start));
}

function ingressHosts(o: KObject): string {
  const hosts = (o.spec?.rules ?? []).map((r: any) => r.host).filter(Boolean);
  return hosts.length ? (hosts.length > 4 ? `${hosts.slice(0, 4).join(',')} + ${hosts.length - 4} more...` : hosts.join(',')) : '*';
}

function hpaTargets(o: KObject): string {
  const metrics: any[] = o.spec?.metrics ?? [];
  if (!metrics.length) return '<none>';
  const current: any[] = o.status?.currentMetrics ?? [];
  const parts = metrics.map((m, i) => {
    const cur = current[i];
    if (m.type === 'Resource') {
      const t = m.resource?.target ?? {};
      const c = cur?.resource?.current;
      if (t.averageUtilization !== undefined) return `cpu: ${c?.averageUtilization !== undefined ? c.averageUtilization + '%' : '<unknown>'}/${t.averageUtilization}%`.replace('cpu', m.resource.name);
      return `${m.resource?.name}: ${c?.averageValue ?? '<unknown>'}/${t.averageValue ?? t.value}`;
    }
    const t = m[lowerFirst(m.type)]?.target ?? {};
    return `<unknown>/${t.averageValue ?? t.value ?? t.averageUtilization ?? ''}${t.type === 'AverageValue' ? ' (avg)' : ''}`;
  });
  return parts.length > 2 ? `${parts.slice(0, 2).join(', ')} + ${parts.length - 2} more...` : parts.join(', ');
}

const lowerFirst = (s: string): string => (s ? s[0].toLowerCase() + s.slice(1) : s);

const ageCol = (): Column => col('Age');

const PRINTERS: Record<string, Printer> = {
  '/pods': {
    columns: [nameCol(), col('Ready'), col('Status'), col('Restarts', 'string'), ageCol(), col('IP', 'string', 1), col('Node', 'string', 1), col('Nominated Node', 'string', 1), col('Readiness Gates', 'string', 1)],
    row: (o, now) => {
      const s = podStatus(o);
      const gates: any[] = o.spec?.readinessGates ?? [];
      const gatesText = gates.length ? `${gates.filter((g) => (o.status?.conditions ?? []).some((c: any) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}` : '<none>';
      return [o.metadata.name, s.ready, s.status, s.restarts, age(o, now), none(o.status?.podIP), none(o.spec?.nodeName), none(o.status?.nominatedNodeName), gatesText];
    },
  },
  'apps/deployments': {
    columns: [nameCol(), col('Ready'), col('Up-to-date', 'integer'), col('Available', 'integer'), ageCol(), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    row: (o, now) => {
      const [c, i] = containers(o);
      return [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0, age(o, now), c, i, selectorString(o.spec?.selector)];
    },
  },
  'apps/replicasets': {
    columns: [nameCol(), col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), ageCol(), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    row: (o, now) => {
      const [c, i] = containers(o);
      return [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o, now), c, i, selectorString(o.spec?.selector)];
    },
  },
  '/replicationcontrollers': {
    columns: [nameCol(), col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), ageCol(), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    row: (o, now) => {
      const [c, i] = containers(o);
      return [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o, now), c, i, mapSelector(o.spec?.selector)];
    },
  },
  'apps/statefulsets': {
    columns: [nameCol(), col('Ready'), ageCol(), col('Containers', 'string', 1), col('Images', 'string', 1)],
    row: (o, now) => {
      const [c, i] = containers(o);
      return [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, age(o, now), c, i];
    },
  },
  'apps/daemonsets': {
    columns: [nameCol(), col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Node Selector'), ageCol(), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    row: (o, now) => {
      const [c, i] = containers(o);
      const s = o.status ?? {};
      return [o.metadata.name, s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0, mapSelector(o.spec?.template?.spec?.nodeSelector), age(o, now), c, i, selectorString(o.spec?.selector)];
    },
  },
  'apps/controllerrevisions': {
    columns: [nameCol(), col('Controller'), col('Revision', 'integer'), ageCol()],
    row: (o, now) => {
      const owner = (o.metadata.ownerReferences ?? []).find((r) => r.controller);
      return [o.metadata.name, owner ? `${owner.kind.toLowerCase()}.${owner.apiVersion.split('/')[0]}/${owner.name}` : '<none>', o.revision ?? 0, age(o, now)];
    },
  },
  'batch/jobs': {
    columns: [nameCol(), col('Status'), col('Completions'), col('Duration'), ageCol(), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    row: (o, now) => {
      const [c, i] = containers(o);
      const completions = o.spec?.completions !== undefined ? `${o.status?.succeeded ?? 0}/${o.spec.completions}` : `${o.status?.succeeded ?? 0}/1 of ${o.spec?.parallelism ?? 1}`;
      return [o.metadata.name, jobStatus(o), completions, jobDuration(o, now), age(o, now), c, i, selectorString(o.spec?.selector)];
    },
  },
  'batch/cronjobs': {
    columns: [nameCol(), col('Schedule'), col('Timezone'), col('Suspend', 'boolean'), col('Active', 'integer'), col('Last Schedule'), ageCol(), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
    row: (o, now) => {
      const [c, i] = containers(o);
      return [o.metadata.name, o.spec?.schedule ?? '', none(o.spec?.timeZone), String(!!o.spec?.suspend), (o.status?.active ?? []).length, o.status?.lastScheduleTime ? since(o.status.lastScheduleTime, now) : '<none>', age(o, now), c, i, selectorString(o.spec?.jobTemplate?.spec?.selector)];
    },
  },
  '/services': {
    columns: [nameCol(), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), ageCol(), col('Selector', 'string', 1)],
    row: (o, now) => [o.metadata.name, o.spec?.type ?? 'ClusterIP', o.spec?.clusterIP ?? '<none>', externalIP(o), servicePorts(o), age(o, now), mapSelector(o.spec?.selector)],
  },
  '/endpoints': {
    columns: [nameCol(), col('Endpoints'), ageCol()],
    row: (o, now) => [o.metadata.name, endpointsList(o), age(o, now)],
  },
  '/namespaces': {
    columns: [nameCol(), col('Status'), ageCol()],
    row: (o, now) => [o.metadata.name, o.status?.phase ?? 'Active', age(o, now)],
  },
  '/configmaps': {
    columns: [nameCol(), col('Data', 'string'), ageCol()],
    row: (o, now) => [o.metadata.name, Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, age(o, now)],
  },
  '/secrets': {
    columns: [nameCol(), col('Type'), col('Data', 'string'), ageCol()],
    row: (o, now) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, age(o, now)],
  },
  '/serviceaccounts': {
    columns: [nameCol(), col('Secrets', 'string'), ageCol()],
    row: (o, now) => [o.metadata.name, (o.secrets ?? []).length, age(o, now)],
  },
  '/persistentvolumeclaims': {
    columns: [nameCol(), col('Status'), col('Volume'), col('Capacity'), col('Access Modes'), col('StorageClass'), col('VolumeAttributesClass'), ageCol(), col('VolumeMode', 'string', 1)],
    row: (o, now) => [o.metadata.name, o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? 'Pending'), o.spec?.volumeName ?? '', o.status?.capacity?.storage ?? '', accessModes(o.status?.accessModes), o.spec?.storageClassName ?? '<unset>', o.spec?.volumeAttributesClassName ?? '<unset>', age(o, now), o.spec?.volumeMode ?? '<unset>'],
  },
  '/persistentvolumes': {
    columns: [nameCol(), col('Capacity'), col('Access Modes'), col('Reclaim Policy'), col('Status'), col('Claim'), col('StorageClass'), col('VolumeAttributesClass'), col('Reason'), ageCol(), col('VolumeMode', 'string', 1)],
    row: (o, now) => {
      const claim = o.spec?.claimRef ? `${o.spec.claimRef.namespace}/${o.spec.claimRef.name}` : '';
      return [o.metadata.name, o.spec?.capacity?.storage ?? '', accessModes(o.spec?.accessModes), o.spec?.persistentVolumeReclaimPolicy ?? '', o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? ''), claim, o.spec?.storageClassName ?? '', o.spec?.volumeAttributesClassName ?? '<unset>', o.status?.reason ?? '', age(o, now), o.spec?.volumeMode ?? '<unset>'];
    },
  },
  '/nodes': {
    columns: [nameCol(), col('Status'), col('Roles'), ageCol(), col('Version'), col('Internal-IP', 'string', 1), col('External-IP', 'string', 1), col('OS-Image', 'string', 1), col('Kernel-Version', 'string', 1), col('Container-Runtime', 'string', 1)],
    row: (o, now) => {
      const addr = (t: string): string => (o.status?.addresses ?? []).find((a: any) => a.type === t)?.address ?? '<none>';
      const ni = o.status?.nodeInfo ?? {};
      return [o.metadata.name, nodeStatus(o), nodeRoles(o), age(o, now), ni.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), ni.osImage ?? '<unknown>', ni.kernelVersion ?? '<unknown>', ni.containerRuntimeVersion ?? '<unknown>'];
    },
  },
  '/events': {
    columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Subobject', 'string', 1), col('Source', 'string', 1), col('Message'), col('First Seen', 'string', 1), col('Count', 'string', 1), { ...nameCol(), priority: 1 }],
    row: (o, now) => {
      const io = o.involvedObject ?? {};
      const last = o.series?.lastObservedTime ?? o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const first = o.firstTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const src = o.source?.component ? (o.source.host ? `${o.source.component}, ${o.source.host}` : o.source.component) : (o.reportingComponent ?? '');
      return [since(last, now), o.type ?? '', o.reason ?? '', `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, io.fieldPath ?? '', src, String(o.message ?? '').trim(), since(first, now), o.series?.count ?? o.count ?? 1, o.metadata.name];
    },
  },
  'networking.k8s.io/ingresses': {
    columns: [nameCol(), col('Class'), col('Hosts'), col('Address'), col('Ports'), ageCol()],
    row: (o, now) => {
      const addr = (o.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip ?? i.hostname).join(',');
      return [o.metadata.name, o.spec?.ingressClassName ?? '<none>', ingressHosts(o), addr, o.spec?.tls?.length ? '80, 443' : '80', age(o, now)];
    },
  },
  'networking.k8s.io/ingressclasses': {
    columns: [nameCol(), col('Controller'), col('Parameters'), ageCol()],
    row: (o, now) => [o.metadata.name, o.spec?.controller ?? '', o.spec?.parameters ? `${o.spec.parameters.kind}/${o.spec.parameters.name}` : '<none>', age(o, now)],
  },
  'networking.k8s.io/networkpolicies': {
    columns: [nameCol(), col('Pod-Selector'), ageCol()],
    row: (o, now) => [o.metadata.name, selectorString(o.spec?.podSelector).replace('<none>', '<none>'), age(o, now)],
  },
  'discovery.k8s.io/endpointslices': {
    columns: [nameCol(), col('AddressType'), col('Ports'), col('Endpoints'), ageCol()],
    row: (o, now) => {
      const ports = (o.ports ?? []).map((p: any) => String(p.port ?? '')).join(',') || '<unset>';
      const eps = (o.endpoints ?? []).flatMap((e: any) => e.addresses ?? []);
      const text = eps.length ? (eps.length > 3 ? `${eps.slice(0, 3).join(',')} + ${eps.length - 3} more...` : eps.join(',')) : '<unset>';
      return [o.metadata.name, o.addressType ?? '', ports, text, age(o, now)];
    },
  },
  'rbac.authorization.k8s.io/roles': {
    columns: [nameCol(), col('Created At', 'date')],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  },
  'rbac.authorization.k8s.io/clusterroles': {
    columns: [nameCol(), col('Created At', 'date')],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  },
  'rbac.authorization.k8s.io/rolebindings': {
    columns: [nameCol(), col('Role'), ageCol(), col('Users', 'string', 1), col('Groups', 'string', 1), col('ServiceAccounts', 'string', 1)],
    row: (o, now) => bindingRow(o, now),
  },
  'rbac.authorization.k8s.io/clusterrolebindings': {
    columns: [nameCol(), col('Role'), ageCol(), col('Users', 'string', 1), col('Groups', 'string', 1), col('ServiceAccounts', 'string', 1)],
    row: (o, now) => bindingRow(o, now),
  },
  'storage.k8s.io/storageclasses': {
    columns: [nameCol(), col('Provisioner'), col('ReclaimPolicy'), col('VolumeBindingMode'), col('AllowVolumeExpansion'), ageCol()],
    row: (o, now) => {
      const a = o.metadata.annotations ?? {};
      const isDefault = a['storageclass.kubernetes.io/is-default-class'] === 'true' || a['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
      return [isDefault ? `${o.metadata.name} (default)` : o.metadata.name, o.provisioner ?? '', o.reclaimPolicy ?? 'Delete', o.volumeBindingMode ?? 'Immediate', String(!!o.allowVolumeExpansion), age(o, now)];
    },
  },
  'storage.k8s.io/csidrivers': {
    columns: [nameCol(), col('AttachRequired', 'boolean'), col('PodInfoOnMount', 'boolean'), col('StorageCapacity', 'boolean'), col('TokenRequests'), col('RequiresRepublish', 'boolean'), col('Modes'), ageCol()],
    row: (o, now) => {
      const s = o.spec ?? {};
      return [o.metadata.name, !!s.attachRequired, !!s.podInfoOnMount, !!s.storageCapacity, (s.tokenRequests ?? []).map((t: any) => t.audience).join(',') || '<unset>', !!s.requiresRepublish, (s.volumeLifecycleModes ?? []).join(','), age(o, now)];
    },
  },
  'policy/poddisruptionbudgets': {
    columns: [nameCol(), col('Min Available'), col('Max Unavailable'), col('Allowed Disruptions', 'integer'), ageCol()],
    row: (o, now) => [o.metadata.name, o.spec?.minAvailable !== undefined ? String(o.spec.minAvailable) : 'N/A', o.spec?.maxUnavailable !== undefined ? String(o.spec.maxUnavailable) : 'N/A', o.status?.disruptionsAllowed ?? 0, age(o, now)],
  },
  'autoscaling/horizontalpodautoscalers': {
    columns: [nameCol(), col('Reference'), col('Targets'), col('MinPods', 'string'), col('MaxPods', 'integer'), col('Replicas', 'integer'), ageCol()],
    row: (o, now) => {
      const ref = o.spec?.scaleTargetRef ?? {};
      return [o.metadata.name, `${ref.kind}/${ref.name}`, hpaTargets(o), String(o.spec?.minReplicas ?? 1), o.spec?.maxReplicas ?? 0, o.status?.currentReplicas ?? 0, age(o, now)];
    },
  },
  'coordination.k8s.io/leases': {
    columns: [nameCol(), col('Holder'), ageCol()],
    row: (o, now) => [o.metadata.name, o.spec?.holderIdentity ?? '', age(o, now)],
  },
  'apiextensions.k8s.io/customresourcedefinitions': {
    columns: [nameCol(), col('Created At', 'date')],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  },
  'scheduling.k8s.io/priorityclasses': {
    columns: [nameCol(), col('Value', 'integer'), col('Global-Default', 'boolean'), ageCol(), col('PreemptionPolicy', 'string', 1)],
    row: (o, now) => [o.metadata.name, o.value ?? 0, !!o.globalDefault, age(o, now), o.preemptionPolicy ?? ''],
  },
  '/resourcequotas': {
    columns: [nameCol(), ageCol(), col('Request'), col('Limit')],
    row: (o, now) => {
      const hard = o.status?.hard ?? o.spec?.hard ?? {};
      const used = o.status?.used ?? {};
      const fmt = (keys: string[]): string => keys.map((k) => `${k}: ${used[k] ?? '0'}/${hard[k]}`).join(', ');
      const req = Object.keys(hard).filter((k) => !k.startsWith('limits.')).sort();
      const lim = Object.keys(hard).filter((k) => k.startsWith('limits.')).sort();
      return [o.metadata.name, age(o, now), fmt(req), fmt(lim)];
    },
  },
  'apiregistration.k8s.io/apiservices': {
    columns: [nameCol(), col('Service'), col('Available'), ageCol()],
    row: (o, now) => {
      const svc = o.spec?.service ? `${o.spec.service.namespace}/${o.spec.service.name}` : 'Local';
      const avail = (o.status?.conditions ?? []).find((c: any) => c.type === 'Available');
      return [o.metadata.name, svc, avail ? (avail.status === 'True' ? 'True' : `${avail.status} (${avail.reason})`) : 'Unknown', age(o, now)];
    },
  },
};

function bindingRow(o: KObject, now: number): Cell[] {
  const subjects: any[] = o.subjects ?? [];
  const names = (kind: string): string =>
    subjects
      .filter((s) => s.kind === kind)
      .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? o.metadata.namespace ?? ''}/${s.name}` : s.name))
      .join(', ');
  return [o.metadata.name, `${o.roleRef?.kind}/${o.roleRef?.name}`, age(o, now), names('User'), names('Group'), names('ServiceAccount')];
}

const DEFAULT_PRINTER: Printer = {
  columns: [nameCol(), { name: 'Created At', type: 'date', format: '', description: descriptions.Age, priority: 0 }],
  row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
};

function crdPrinter(info: KindInfo, version: string): Printer | undefined {
  const v = crdVersion(info, version);
  const extra: any[] = v?.additionalPrinterColumns ?? [];
  if (!extra.length) {
    return { columns: [nameCol(), ageCol()], row: (o, now) => [o.metadata.name, age(o, now)] };
  }
  const columns = [nameCol(), ...extra.map((c) => ({ name: c.name, type: c.type === 'date' ? 'date' : c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 }))];
  return {
    columns,
    row: (o, now) => [
      o.metadata.name,
      ...extra.map((c) => {
        const v = readJsonPath(o, c.jsonPath);
        if (v === undefined || v === null) return null;
        if (c.type === 'date') return since(String(v), now);
        if (typeof v === 'object') return JSON.stringify(v);
        return v as Cell;
      }),
    ],
  };
}

export function printerFor(info: KindInfo, version: string): Printer {
  if (info.crd) return crdPrinter(info, version) ?? DEFAULT_PRINTER;
  return PRINTERS[`${info.group}/${info.resource}`] ?? DEFAULT_PRINTER;
}

function partialMetadata(o: KObject, version: string, group: string): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata, ...(version && group !== undefined ? {} : {}) };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** A Table of `objects`; `includeObject` as the request asked (default Metadata). */
export function toTable(info: KindInfo, version: string, objects: KObject[], listMeta: Record<string, unknown>, include: IncludeObject, noHeaders = false): unknown {
  const p = printerFor(info, version);
  const now = Date.now();
  const rows = objects.map((o) => {
    const row: Record<string, unknown> = { cells: p.row(o, now) };
    if (include === 'Object') row.object = o;
    else if (include === 'Metadata') row.object = partialMetadata(o, version, info.group);
    return row;
  });
  const t: Record<string, unknown> = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta };
  if (!noHeaders) t.columnDefinitions = p.columns;
  t.rows = rows;
  return t;
}
