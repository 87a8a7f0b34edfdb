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
};

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

function decodeTime(buf: Buffer): string {
  const r = new Reader(buf);
  let seconds = 0n;
  while (!r.done) {
    const tag = Number(r.varint());
    if (tag >> 3 === 1 && (tag & 7) === 0) seconds = r.varint();
    else r.skip(tag & 7);
  }
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
        break;
      case 'smap':
      case 'bmap': {
        const [k, v] = decodeMap(r.bytes(), field.type === 'bmap');
        (out[field.name] ??= {})[k] = v;
        continue;
      }
      default:
        value = decodeMessage(r.bytes(), field.type);
    }
    if (field.repeated) (out[field.name] ??= []).push(value);
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
