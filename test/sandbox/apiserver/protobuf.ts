/**
 * Request bodies in Kubernetes' protobuf encoding. kubectl's typed clients
 * (create namespace / configmap / secret / serviceaccount / role ...,
 * auth can-i, auth whoami) send built-in objects as
 * `application/vnd.kubernetes.protobuf`: the magic `k8s\0` followed by a
 * runtime.Unknown envelope (apiVersion, kind, raw message). The kinds those
 * commands send are decoded here to their JSON form from their field
 * numbers; anything else is refused with 415 so the client can see why.
 */
import * as errors from './errors';

type FieldType = 'string' | 'bytes' | 'int' | 'bool' | 'time' | 'smap' | 'bmap' | string;
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
type Schema = Record<number, Field>;

const f = (name: string, type: FieldType, repeated = false): Field => ({ name, type, repeated });

const MESSAGES: Record<string, Schema> = {
  ObjectMeta: {
    1: f('name', 'string'),
    2: f('generateName', 'string'),
    3: f('namespace', 'string'),
    4: f('selfLink', 'string'),
    5: f('uid', 'string'),
    6: f('resourceVersion', 'string'),
    7: f('generation', 'int'),
    8: f('creationTimestamp', 'time'),
    9: f('deletionTimestamp', 'time'),
    10: f('deletionGracePeriodSeconds', 'int'),
    11: f('labels', 'smap'),
    12: f('annotations', 'smap'),
    13: f('ownerReferences', 'OwnerReference', true),
    14: f('finalizers', 'string', true),
  },
  OwnerReference: { 1: f('kind', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('controller', 'bool'), 7: f('blockOwnerDeletion', 'bool') },
  ObjectReference: { 1: f('kind', 'string'), 2: f('namespace', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('resourceVersion', 'string'), 7: f('fieldPath', 'string') },
  LocalObjectReference: { 1: f('name', 'string') },
  Namespace: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'NamespaceSpec'), 3: f('status', 'NamespaceStatus') },
  NamespaceSpec: { 1: f('finalizers', 'string', true) },
  NamespaceStatus: { 1: f('phase', 'string') },
  ConfigMap: { 1: f('metadata', 'ObjectMeta'), 2: f('data', 'smap'), 3: f('binaryData', 'bmap'), 4: f('immutable', 'bool') },
  Secret: { 1: f('metadata', 'ObjectMeta'), 2: f('data', 'bmap'), 3: f('type', 'string'), 4: f('stringData', 'smap'), 5: f('immutable', 'bool') },
  ServiceAccount: { 1: f('metadata', 'ObjectMeta'), 2: f('secrets', 'ObjectReference', true), 3: f('imagePullSecrets', 'LocalObjectReference', true), 4: f('automountServiceAccountToken', 'bool') },
  PolicyRule: { 1: f('verbs', 'string', true), 2: f('apiGroups', 'string', true), 3: f('resources', 'string', true), 4: f('resourceNames', 'string', true), 5: f('nonResourceURLs', 'string', true) },
  Role: { 1: f('metadata', 'ObjectMeta'), 2: f('rules', 'PolicyRule', true) },
  ClusterRole: { 1: f('metadata', 'ObjectMeta'), 2: f('rules', 'PolicyRule', true), 3: f('aggregationRule', 'AggregationRule') },
  AggregationRule: { 1: f('clusterRoleSelectors', 'LabelSelector', true) },
  LabelSelector: { 1: f('matchLabels', 'smap'), 2: f('matchExpressions', 'LabelSelectorRequirement', true) },
  LabelSelectorRequirement: { 1: f('key', 'string'), 2: f('operator', 'string'), 3: f('values', 'string', true) },
  Subject: { 1: f('kind', 'string'), 2: f('apiGroup', 'string'), 3: f('name', 'string'), 4: f('namespace', 'string') },
  RoleRef: { 1: f('apiGroup', 'string'), 2: f('kind', 'string'), 3: f('name', 'string') },
  RoleBinding: { 1: f('metadata', 'ObjectMeta'), 2: f('subjects', 'Subject', true), 3: f('roleRef', 'RoleRef') },
  ClusterRoleBinding: { 1: f('metadata', 'ObjectMeta'), 2: f('subjects', 'Subject', true), 3: f('roleRef', 'RoleRef') },
  ResourceAttributes: { 1: f('namespace', 'string'), 2: f('verb', 'string'), 3: f('group', 'string'), 4: f('version', 'string'), 5: f('resource', 'string'), 6: f('subresource', 'string'), 7: f('name', 'string') },
  NonResourceAttributes: { 1: f('path', 'string'), 2: f('verb', 'string') },
  SelfSubjectAccessReviewSpec: { 1: f('resourceAttributes', 'ResourceAttributes'), 2: f('nonResourceAttributes', 'NonResourceAttributes') },
  SubjectAccessReviewSpec: { 1: f('resourceAttributes', 'ResourceAttributes'), 2: f('nonResourceAttributes', 'NonResourceAttributes'), 3: f('user', 'string'), 4: f('groups', 'string', true), 6: f('uid', 'string') },
  SelfSubjectAccessReview: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'SelfSubjectAccessReviewSpec') },
  SubjectAccessReview: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'SubjectAccessReviewSpec') },
  LocalSubjectAccessReview: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'SubjectAccessReviewSpec') },
  SelfSubjectRulesReviewSpec: { 1: f('namespace', 'string') },
  SelfSubjectRulesReview: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'SelfSubjectRulesReviewSpec') },
  SelfSubjectReview: { 1: f('metadata', 'ObjectMeta') },
  TokenRequest: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'TokenRequestSpec') },
  TokenRequestSpec: { 1: f('audiences', 'string', true), 3: f('boundObjectRef', 'BoundObjectReference'), 4: f('expirationSeconds', 'int') },
  BoundObjectReference: { 1: f('kind', 'string'), 2: f('apiVersion', 'string'), 3: f('name', 'string'), 4: f('uid', 'string') },
  // Workloads, as `kubectl create deployment|job|cronjob` build them.
  Deployment: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'DeploymentSpec'), 3: f('status', 'Empty') },
  DeploymentSpec: { 1: f('replicas', 'int'), 2: f('selector', 'LabelSelector'), 3: f('template', 'PodTemplateSpec'), 4: f('strategy', 'DeploymentStrategy'), 5: f('minReadySeconds', 'int'), 6: f('revisionHistoryLimit', 'int'), 7: f('paused', 'bool'), 9: f('progressDeadlineSeconds', 'int') },
  DeploymentStrategy: { 1: f('type', 'string'), 2: f('rollingUpdate', 'RollingUpdateDeployment') },
  RollingUpdateDeployment: { 1: f('maxUnavailable', 'intstr'), 2: f('maxSurge', 'intstr') },
  PodTemplateSpec: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'PodSpec') },
  PodSpec: {
    1: f('volumes', 'Volume', true),
    2: f('containers', 'Container', true),
    3: f('restartPolicy', 'string'),
    4: f('terminationGracePeriodSeconds', 'int'),
    5: f('activeDeadlineSeconds', 'int'),
    6: f('dnsPolicy', 'string'),
    7: f('nodeSelector', 'smap'),
    8: f('serviceAccountName', 'string'),
    9: f('serviceAccount', 'string'),
    10: f('nodeName', 'string'),
    11: f('hostNetwork', 'bool'),
    12: f('hostPID', 'bool'),
    13: f('hostIPC', 'bool'),
    14: f('securityContext', 'Empty'),
    15: f('imagePullSecrets', 'LocalObjectReference', true),
    16: f('hostname', 'string'),
    17: f('subdomain', 'string'),
    19: f('schedulerName', 'string'),
    20: f('initContainers', 'Container', true),
    24: f('priorityClassName', 'string'),
    30: f('enableServiceLinks', 'bool'),
  },
  Volume: { 1: f('name', 'string') },
  Container: {
    1: f('name', 'string'),
    2: f('image', 'string'),
    3: f('command', 'string', true),
    4: f('args', 'string', true),
    5: f('workingDir', 'string'),
    6: f('ports', 'ContainerPort', true),
    7: f('env', 'EnvVar', true),
    8: f('resources', 'ResourceRequirements'),
    9: f('volumeMounts', 'VolumeMount', true),
    13: f('terminationMessagePath', 'string'),
    14: f('imagePullPolicy', 'string'),
    16: f('stdin', 'bool'),
    17: f('stdinOnce', 'bool'),
    18: f('tty', 'bool'),
    20: f('terminationMessagePolicy', 'string'),
  },
  ContainerPort: { 1: f('name', 'string'), 2: f('hostPort', 'int'), 3: f('containerPort', 'int'), 4: f('protocol', 'string'), 5: f('hostIP', 'string') },
  EnvVar: { 1: f('name', 'string'), 2: f('value', 'string') },
  ResourceRequirements: { 1: f('limits', 'qmap'), 2: f('requests', 'qmap') },
  VolumeMount: { 1: f('name', 'string'), 2: f('readOnly', 'bool'), 3: f('mountPath', 'string'), 4: f('subPath', 'string') },
  Empty: {},
  Job: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'JobSpec'), 3: f('status', 'Empty') },
  JobSpec: { 1: f('parallelism', 'int'), 2: f('completions', 'int'), 3: f('activeDeadlineSeconds', 'int'), 4: f('selector', 'LabelSelector'), 5: f('manualSelector', 'bool'), 6: f('template', 'PodTemplateSpec'), 7: f('backoffLimit', 'int'), 8: f('ttlSecondsAfterFinished', 'int'), 9: f('completionMode', 'string'), 10: f('suspend', 'bool') },
  JobTemplateSpec: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'JobSpec') },
  CronJob: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'CronJobSpec'), 3: f('status', 'Empty') },
  CronJobSpec: { 1: f('schedule', 'string'), 2: f('startingDeadlineSeconds', 'int'), 3: f('concurrencyPolicy', 'string'), 4: f('suspend', 'bool'), 5: f('jobTemplate', 'JobTemplateSpec'), 6: f('successfulJobsHistoryLimit', 'int'), 7: f('failedJobsHistoryLimit', 'int'), 8: f('timeZone', 'string') },
  // Services and ingresses, as `kubectl create service|ingress` build them.
  Service: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'ServiceSpec'), 3: f('status', 'Empty') },
  ServiceSpec: { 1: f('ports', 'ServicePort', true), 2: f('selector', 'smap'), 3: f('clusterIP', 'string'), 4: f('type', 'string'), 5: f('externalIPs', 'string', true), 7: f('sessionAffinity', 'string'), 8: f('loadBalancerIP', 'string'), 10: f('externalName', 'string'), 11: f('externalTrafficPolicy', 'string'), 18: f('clusterIPs', 'string', true) },
  ServicePort: { 1: f('name', 'string'), 2: f('protocol', 'string'), 3: f('port', 'int'), 4: f('targetPort', 'intstr'), 5: f('nodePort', 'int'), 6: f('appProtocol', 'string') },
  Ingress: { 1: f('metadata', 'ObjectMeta'), 2: f('spec', 'IngressSpec'), 3: f('status', 'Empty') },
  IngressSpec: { 1: f('defaultBackend', 'IngressBackend'), 2: f('tls', 'IngressTLS', true), 3: f('rules', 'IngressRule', true), 4: f('ingressClassName', 'string') },
  IngressRule: { 1: f('host', 'string'), 2: f('', 'inline:IngressRuleValue') },
  IngressRuleValue: { 1: f('http', 'HTTPIngressRuleValue') },
  HTTPIngressRuleValue: { 1: f('paths', 'HTTPIngressPath', true) },
  HTTPIngressPath: { 1: f('path', 'string'), 2: f('backend', 'IngressBackend'), 3: f('pathType', 'string') },
  IngressBackend: { 4: f('service', 'IngressServiceBackend') },
  IngressServiceBackend: { 1: f('name', 'string'), 2: f('port', 'ServiceBackendPort') },
  ServiceBackendPort: { 1: f('name', 'string'), 2: f('number', 'int') },
  IngressTLS: { 1: f('hosts', 'string', true), 2: f('secretName', 'string') },
};

/**
 * Optional (pointer) fields, whose zero value is meaningful. Every other
 * scalar is a plain Go value: gogo-protobuf writes it even when empty, and
 * its JSON form omits it, so zero values are dropped.
 */
const POINTER_FIELDS = new Set([
  'replicas', 'parallelism', 'completions', 'backoffLimit', 'suspend', 'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'enableServiceLinks',
  'revisionHistoryLimit', 'progressDeadlineSeconds', 'manualSelector', 'ttlSecondsAfterFinished', 'startingDeadlineSeconds', 'successfulJobsHistoryLimit',
  'failedJobsHistoryLimit', 'automountServiceAccountToken', 'expirationSeconds', 'immutable', 'controller', 'blockOwnerDeletion', 'deletionGracePeriodSeconds',
]);

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    while (true) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function decodeMap(buf: Buffer, valueBytes: boolean): [string, string] {
  const r = new Reader(buf);
  let key = '';
  let value = '';
  while (!r.done) {
    const tag = Number(r.varint());
    const no = tag >> 3;
    if ((tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const b = r.bytes();
    if (no === 1) key = b.toString('utf8');
    else if (no === 2) value = valueBytes ? b.toString('base64') : b.toString('utf8');
  }
  return [key, value];
}

/** intstr.IntOrString: type 0 → intVal (2), type 1 → strVal (3). */
function decodeIntOrString(buf: Buffer): number | string {
  const r = new Reader(buf);
  let type = 0;
  let intVal = 0;
  let strVal = '';
  while (!r.done) {
    const tag = Number(r.varint());
    const no = tag >> 3;
    if (no === 1) type = Number(r.varint());
    else if (no === 2) intVal = Number(BigInt.asIntN(32, r.varint()));
    else if (no === 3) strVal = r.bytes().toString('utf8');
    else r.skip(tag & 7);
  }
  return type === 1 ? strVal : intVal;
}

/** A map<string, resource.Quantity> entry; a Quantity is its string form (field 1). */
function decodeQuantityEntry(buf: Buffer): [string, string] {
  const r = new Reader(buf);
  let key = '';
  let value = '';
  while (!r.done) {
    const tag = Number(r.varint());
    const no = tag >> 3;
    if ((tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const b = r.bytes();
    if (no === 1) key = b.toString('utf8');
    else if (no === 2) value = decodeMap(b, false)[0];
  }
  return [key, value];
}

function decodeTime(buf: Buffer): string | undefined {
  const r = new Reader(buf);
  let seconds = 0n;
  while (!r.done) {
    const tag = Number(r.varint());
    if (tag >> 3 === 1 && (tag & 7) === 0) seconds = r.varint();
    else r.skip(tag & 7);
  }
  // The zero time is Go's "unset" (null in JSON).
  if (seconds === 0n || seconds === -62135596800n) return undefined;
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function decodeMessage(buf: Buffer, type: string): Record<string, unknown> {
  const schema = MESSAGES[type];
  const out: Record<string, any> = {};
  const r = new Reader(buf);
  while (!r.done) {
    const tag = Number(r.varint());
    const field = schema[tag >> 3];
    const wire = tag & 7;
    if (!field) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    switch (field.type) {
      case 'int': {
        const v = r.varint();
        value = Number(BigInt.asIntN(64, v));
        break;
      }
      case 'bool':
        value = r.varint() !== 0n;
        break;
      case 'string':
        value = r.bytes().toString('utf8');
        break;
      case 'bytes':
        value = r.bytes().toString('base64');
        break;
      case 'time':
        value = decodeTime(r.bytes());
        if (value === undefined) continue;
        break;
      case 'intstr':
        value = decodeIntOrString(r.bytes());
        break;
      case 'qmap': {
        const [k, v] = decodeQuantityEntry(r.bytes());
        (out[field.name] ??= {})[k] = v;
        continue;
      }
      case 'smap':
      case 'bmap': {
        const [k, v] = decodeMap(r.bytes(), field.type === 'bmap');
        (out[field.name] ??= {})[k] = v;
        continue;
      }
      default:
        if (field.type.startsWith('inline:')) {
          Object.assign(out, decodeMessage(r.bytes(), field.type.slice('inline:'.length)));
          continue;
        }
        value = decodeMessage(r.bytes(), field.type);
    }
    if (field.repeated) (out[field.name] ??= []).push(value);
    else if (!POINTER_FIELDS.has(field.name) && (value === '' || value === false || value === 0)) continue;
    else out[field.name] = value;
  }
  return out;
}

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a `k8s\0`-prefixed runtime.Unknown into the object's JSON form. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw errors.badRequest('the body of the request was in an unknown format: missing the protobuf magic prefix');
  const r = new Reader(body.subarray(4));
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  while (!r.done) {
    const tag = Number(r.varint());
    const no = tag >> 3;
    if ((tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const b = r.bytes();
    if (no === 1) {
      const tm = new Reader(b);
      while (!tm.done) {
        const t = Number(tm.varint());
        const v = tm.bytes().toString('utf8');
        if (t >> 3 === 1) apiVersion = v;
        else if (t >> 3 === 2) kind = v;
      }
    } else if (no === 2) raw = b;
  }
  if (!MESSAGES[kind] || !raw) {
    throw errors.unsupportedMediaType(['application/json', 'application/yaml', `application/vnd.kubernetes.protobuf (for ${Object.keys(MESSAGES).filter((k) => /^[A-Z]/.test(k) && MESSAGES[k][1]?.name === 'metadata').join(', ')}; send ${kind || 'this kind'} as JSON)`]);
  }
  return { apiVersion, kind, ...decodeMessage(raw, kind) };
}
