/**
 * The defaults kube-apiserver (and its default admission plugins) fills in
 * on create and update, so that a stored object, or a server-side dry run,
 * looks like one from a real cluster.
 */
import type { KObject } from '../contract';

export interface DefaultingContext {
  /** Whether this is the pod itself (not a template): pod-only defaults apply. */
  defaultStorageClass?: () => string | undefined;
  allocateClusterIP: () => string;
  allocateNodePort: () => number;
}

const TOLERATION_SECONDS = 300;

function imagePullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const tail = image.slice(lastSlash + 1);
  if (tail.includes('@')) return 'IfNotPresent';
  const colon = tail.lastIndexOf(':');
  if (colon < 0) return 'Always';
  return tail.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: any): void {
  if (!p || typeof p !== 'object') return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) p.httpGet.scheme ??= 'HTTP';
}

function defaultContainer(c: any): void {
  if (!c || typeof c !== 'object') return;
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= imagePullPolicy(c.image);
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  for (const e of c.env ?? []) {
    if (e?.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

function defaultVolume(v: any): void {
  if (!v || typeof v !== 'object') return;
  const keys = Object.keys(v).filter((k) => k !== 'name');
  if (keys.length === 0) v.emptyDir = {};
  if (v.configMap) v.configMap.defaultMode ??= 420;
  if (v.secret) v.secret.defaultMode ??= 420;
  if (v.downwardAPI) v.downwardAPI.defaultMode ??= 420;
  if (v.projected) v.projected.defaultMode ??= 420;
  if (v.hostPath) v.hostPath.type ??= '';
}

export function defaultPodSpec(spec: any): void {
  if (!spec || typeof spec !== 'object') return;
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) defaultVolume(v);
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
}

function defaultTemplate(t: any): void {
  if (!t || typeof t !== 'object') return;
  t.metadata ??= {};
  defaultPodSpec(t.spec);
}

function qosClass(spec: any): string {
  let requests = 0;
  let limits = 0;
  let guaranteed = true;
  let any = false;
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    const r = c.resources ?? {};
    const req = { ...(r.limits ?? {}), ...(r.requests ?? {}) };
    const lim = r.limits ?? {};
    requests += Object.keys(req).length;
    limits += Object.keys(lim).length;
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const res of ['cpu', 'memory']) {
      if (!lim[res] || (r.requests?.[res] !== undefined && r.requests[res] !== lim[res])) guaranteed = false;
    }
  }
  if (!any || (requests === 0 && limits === 0)) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Defaults applied to every write of `obj` (a kind in storage form). */
export function applyDefaults(group: string, resource: string, obj: KObject, ctx: DefaultingContext, creating: boolean): void {
  const spec = obj.spec;
  switch (`${group}/${resource}`) {
    case '/pods': {
      obj.spec ??= {};
      defaultPodSpec(obj.spec);
      const s = obj.spec;
      s.serviceAccountName ??= s.serviceAccount ?? 'default';
      s.serviceAccount ??= s.serviceAccountName;
      s.enableServiceLinks ??= true;
      s.preemptionPolicy ??= 'PreemptLowerPriority';
      s.priority ??= 0;
      if (creating) {
        // DefaultTolerationSeconds admission.
        const tol: any[] = (s.tolerations ??= []);
        for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
          if (!tol.some((t) => t.key === key || (t.operator === 'Exists' && !t.key))) {
            tol.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: TOLERATION_SECONDS });
          }
        }
        obj.status = { phase: 'Pending', qosClass: qosClass(s) };
      }
      break;
    }
    case '/podtemplates':
      defaultTemplate(obj.template);
      break;
    case '/replicationcontrollers':
      if (spec) {
        spec.replicas ??= 1;
        spec.minReadySeconds ??= 0;
        const tl = spec.template?.metadata?.labels;
        if (tl && !spec.selector) spec.selector = { ...tl };
        if (tl && !obj.metadata.labels) obj.metadata.labels = { ...tl };
        defaultTemplate(spec.template);
      }
      break;
    case 'apps/deployments':
      if (spec) {
        spec.replicas ??= 1;
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        spec.strategy ??= {};
        spec.strategy.type ??= 'RollingUpdate';
        if (spec.strategy.type === 'RollingUpdate') {
          spec.strategy.rollingUpdate ??= {};
          spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
          spec.strategy.rollingUpdate.maxSurge ??= '25%';
        }
        defaultTemplate(spec.template);
      }
      break;
    case 'apps/replicasets':
      if (spec) {
        spec.replicas ??= 1;
        defaultTemplate(spec.template);
      }
      break;
    case 'apps/statefulsets':
      if (spec) {
        spec.replicas ??= 1;
        spec.podManagementPolicy ??= 'OrderedReady';
        spec.updateStrategy ??= {};
        spec.updateStrategy.type ??= 'RollingUpdate';
        if (spec.updateStrategy.type === 'RollingUpdate') {
          spec.updateStrategy.rollingUpdate ??= {};
          spec.updateStrategy.rollingUpdate.partition ??= 0;
        }
        spec.revisionHistoryLimit ??= 10;
        spec.persistentVolumeClaimRetentionPolicy ??= {};
        spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
        spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
        for (const t of spec.volumeClaimTemplates ?? []) {
          t.apiVersion ??= 'v1';
          t.kind ??= 'PersistentVolumeClaim';
          t.spec ??= {};
          t.spec.volumeMode ??= 'Filesystem';
          t.status ??= { phase: 'Pending' };
        }
        defaultTemplate(spec.template);
      }
      break;
    case 'apps/daemonsets':
      if (spec) {
        spec.updateStrategy ??= {};
        spec.updateStrategy.type ??= 'RollingUpdate';
        if (spec.updateStrategy.type === 'RollingUpdate') {
          spec.updateStrategy.rollingUpdate ??= {};
          spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
          spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
        }
        spec.revisionHistoryLimit ??= 10;
        defaultTemplate(spec.template);
      }
      break;
    case 'batch/jobs':
      if (spec) defaultJobSpec(spec, obj, creating);
      break;
    case 'batch/cronjobs':
      if (spec) {
        spec.concurrencyPolicy ??= 'Allow';
        spec.suspend ??= false;
        spec.successfulJobsHistoryLimit ??= 3;
        spec.failedJobsHistoryLimit ??= 1;
        if (spec.jobTemplate?.spec) {
          const js = spec.jobTemplate.spec;
          js.completionMode ??= 'NonIndexed';
          js.backoffLimit ??= 6;
          js.suspend ??= false;
          js.podReplacementPolicy ??= 'TerminatingOrFailed';
          js.manualSelector ??= undefined;
          defaultTemplate(js.template);
          spec.jobTemplate.metadata ??= {};
        }
      }
      break;
    case '/services':
      defaultService(obj, ctx, creating);
      break;
    case '/persistentvolumeclaims':
      obj.spec ??= {};
      obj.spec.volumeMode ??= 'Filesystem';
      // DefaultStorageClass admission leaves a claim alone that names its class
      // through the beta annotation (PersistentVolumeClaimHasClass).
      if (creating && obj.spec.storageClassName === undefined && obj.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] === undefined) {
        const sc = ctx.defaultStorageClass?.();
        if (sc) obj.spec.storageClassName = sc;
      }
      if (creating) obj.status = { phase: 'Pending' };
      break;
    case '/persistentvolumes':
      obj.spec ??= {};
      obj.spec.persistentVolumeReclaimPolicy ??= obj.spec.claimRef ? 'Retain' : 'Retain';
      obj.spec.volumeMode ??= 'Filesystem';
      if (obj.spec.hostPath) obj.spec.hostPath.type ??= '';
      if (creating) obj.status = { phase: 'Pending' };
      break;
    case '/namespaces':
      obj.spec ??= {};
      obj.spec.finalizers ??= ['kubernetes'];
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      if (creating) obj.status = { phase: 'Active' };
      break;
    case '/secrets':
      if (!obj.type) obj.type = 'Opaque';
      if (obj.stringData && typeof obj.stringData === 'object') {
        obj.data ??= {};
        for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
      break;
    case '/endpoints':
      for (const s of obj.subsets ?? []) for (const p of s.ports ?? []) p.protocol ??= 'TCP';
      break;
    case 'discovery.k8s.io/endpointslices':
      for (const p of obj.ports ?? []) p.protocol ??= 'TCP';
      break;
    case 'storage.k8s.io/storageclasses':
      obj.reclaimPolicy ??= 'Delete';
      obj.volumeBindingMode ??= 'Immediate';
      break;
    case 'storage.k8s.io/csidrivers':
      obj.spec ??= {};
      obj.spec.attachRequired ??= true;
      obj.spec.podInfoOnMount ??= false;
      obj.spec.storageCapacity ??= false;
      obj.spec.fsGroupPolicy ??= 'ReadWriteOnceWithFSType';
      obj.spec.requiresRepublish ??= false;
      obj.spec.seLinuxMount ??= false;
      obj.spec.volumeLifecycleModes ??= ['Persistent'];
      break;
    case 'networking.k8s.io/networkpolicies':
      if (spec) {
        if (!spec.policyTypes) {
          spec.policyTypes = ['Ingress'];
          if (spec.egress) spec.policyTypes.push('Egress');
        }
        for (const r of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) for (const p of r.ports ?? []) p.protocol ??= 'TCP';
      }
      break;
    case 'autoscaling/horizontalpodautoscalers':
      if (spec) spec.minReplicas ??= 1;
      break;
    case 'rbac.authorization.k8s.io/clusterrolebindings':
    case 'rbac.authorization.k8s.io/rolebindings':
      for (const s of obj.subjects ?? []) {
        if ((s.kind === 'User' || s.kind === 'Group') && s.apiGroup === undefined) s.apiGroup = 'rbac.authorization.k8s.io';
      }
      break;
    case 'apiextensions.k8s.io/customresourcedefinitions':
      if (spec) {
        spec.conversion ??= { strategy: 'None' };
        spec.names ??= {};
        spec.names.singular ??= String(spec.names.kind ?? '').toLowerCase();
        spec.names.listKind ??= `${spec.names.kind}List`;
      }
      break;
    case 'scheduling.k8s.io/priorityclasses':
      obj.preemptionPolicy ??= 'PreemptLowerPriority';
      break;
  }
}

function defaultJobSpec(spec: any, obj: KObject, creating: boolean): void {
  spec.parallelism ??= 1;
  spec.completions ??= spec.completionMode === 'Indexed' ? spec.parallelism : 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  defaultTemplate(spec.template);
  // The Job gets a selector on its own uid unless the user manages selectors.
  if (creating && !spec.manualSelector && obj.metadata.uid) {
    const uid = obj.metadata.uid;
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    const labels = (spec.template.metadata.labels ??= {});
    labels['batch.kubernetes.io/controller-uid'] = uid;
    labels['batch.kubernetes.io/job-name'] = obj.metadata.name;
    labels['controller-uid'] = uid;
    labels['job-name'] = obj.metadata.name;
  }
}

function defaultService(obj: KObject, ctx: DefaultingContext, creating: boolean): void {
  const spec = (obj.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    spec.internalTrafficPolicy ??= 'Cluster';
    if (creating) {
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        spec.clusterIP = spec.clusterIPs?.[0] ?? ctx.allocateClusterIP();
      }
      spec.clusterIPs ??= [spec.clusterIP];
    }
    spec.ipFamilies ??= spec.clusterIP === 'None' ? ['IPv4'] : ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined && spec.type !== 'ExternalName') p.targetPort = p.port;
    if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort === undefined) p.nodePort = ctx.allocateNodePort();
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (creating) obj.status = { loadBalancer: {} };
}
