/**
 * Label and field selectors in the query-string syntax kube-apiserver
 * accepts (`a=b,c!=d,e in (x,y),f notin (z),g,!h`), and the per-kind list
 * of fields a fieldSelector may name.
 */
import type { KObject } from '../contract';
import { badRequest } from './errors';

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' };

export type LabelSelector = Requirement[];

export function parseLabelSelector(text: string | undefined): LabelSelector {
  const out: Requirement[] = [];
  if (!text || !text.trim()) return out;
  let i = 0;
  const s = text;
  const skipWs = (): void => {
    while (i < s.length && s[i] === ' ') i++;
  };
  const readKey = (): string => {
    skipWs();
    const start = i;
    while (i < s.length && !' ,=!()'.includes(s[i])) i++;
    return s.slice(start, i);
  };
  const fail = (): never => {
    throw badRequest(`unable to parse requirement: found '${s.slice(i) || s}', expected: in, notin, =, ==, !=, gt, lt`);
  };
  while (i < s.length) {
    skipWs();
    if (s[i] === '!') {
      i++;
      const key = readKey();
      if (!key) fail();
      out.push({ key, op: '!' });
    } else {
      const key = readKey();
      if (!key) fail();
      skipWs();
      if (i >= s.length || s[i] === ',') {
        out.push({ key, op: 'exists' });
      } else if (s.startsWith('==', i) || s.startsWith('!=', i) || s[i] === '=') {
        const neg = s[i] === '!';
        i += s.startsWith('==', i) || neg ? 2 : 1;
        skipWs();
        const start = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
        out.push({ key, op: neg ? 'notin' : 'in', values: [s.slice(start, i)] });
      } else {
        const rest = s.slice(i);
        const m = /^(in|notin)\s*\(([^)]*)\)/.exec(rest);
        if (!m) fail();
        i += m![0].length;
        const values = m![2].split(',').map((v) => v.trim()).filter((v) => v !== '');
        out.push({ key, op: m![1] as 'in' | 'notin', values });
      }
    }
    skipWs();
    if (i < s.length) {
      if (s[i] !== ',') fail();
      i++;
    }
  }
  return out;
}

export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of sel) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(labels![r.key])) return false;
        break;
      case 'notin':
        if (has && r.values.includes(labels![r.key])) return false;
        break;
    }
  }
  return true;
}

/** A metav1.LabelSelector (matchLabels/matchExpressions) as requirements. */
export function fromLabelSelectorObject(sel: any): LabelSelector | undefined {
  if (!sel || typeof sel !== 'object') return undefined;
  const out: Requirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) out.push({ key: k, op: 'in', values: [String(v)] });
  for (const e of sel.matchExpressions ?? []) {
    const op = String(e.operator);
    if (op === 'In') out.push({ key: e.key, op: 'in', values: e.values ?? [] });
    else if (op === 'NotIn') out.push({ key: e.key, op: 'notin', values: e.values ?? [] });
    else if (op === 'Exists') out.push({ key: e.key, op: 'exists' });
    else if (op === 'DoesNotExist') out.push({ key: e.key, op: '!' });
  }
  return out;
}

/** Renders requirements the way `metav1.FormatLabelSelector` does (scale status.selector). */
export function formatLabelSelector(sel: LabelSelector): string {
  return sel
    .map((r) => {
      switch (r.op) {
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'in':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${[...r.values].sort().join(',')})`;
        case 'notin':
          return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${[...r.values].sort().join(',')})`;
      }
    })
    .join(',');
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

export function parseFieldSelector(text: string | undefined): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (!text || !text.trim()) return out;
  for (const part of text.split(',')) {
    const p = part.trim();
    if (!p) continue;
    let m = /^([^!=]+)(==|=|!=)(.*)$/.exec(p);
    if (!m) {
      m = null;
      throw badRequest(`invalid selector: '${text}'; can't understand '${p}'`);
    }
    out.push({ field: m[1].trim(), value: m[3].trim(), negate: m[2] === '!=' });
  }
  return out;
}

/** Fields each built-in kind lets a fieldSelector name, beyond metadata.name/namespace. */
const FIELDS: Record<string, string[]> = {
  '/pods': ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  '/events': ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  '/secrets': ['type'],
  '/namespaces': ['status.phase'],
  '/nodes': ['spec.unschedulable'],
  '/replicationcontrollers': ['status.replicas'],
  'apps/replicasets': ['status.replicas'],
  'batch/jobs': ['status.successful'],
  '/services': ['spec.clusterIP', 'spec.type'],
  '/persistentvolumeclaims': [],
  'certificates.k8s.io/certificatesigningrequests': ['spec.signerName'],
};

/** Checks the selector names only supported fields; otherwise the real BadRequest text. */
export function checkFieldSelector(group: string, resource: string, reqs: FieldRequirement[]): void {
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(FIELDS[`${group}/${resource}`] ?? [])]);
  for (const r of reqs) {
    if (!allowed.has(r.field)) throw badRequest(`field label not supported: ${r.field}`);
  }
}

function fieldValue(obj: KObject, field: string): string {
  if (field === 'source' && obj.kind === 'Event') return obj.source?.component ?? '';
  if (field === 'status.podIPs') return (obj.status?.podIPs ?? []).map((p: any) => p.ip).join(',');
  let cur: any = obj;
  for (const part of field.split('.')) {
    if (cur === undefined || cur === null) return '';
    cur = cur[part];
  }
  if (cur === undefined || cur === null) {
    if (field === 'spec.unschedulable' || field === 'spec.hostNetwork') return 'false';
    if (field === 'status.replicas' || field === 'status.successful') return '0';
    return '';
  }
  return String(cur);
}

export function matchesFields(reqs: FieldRequirement[], obj: KObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if ((v === r.value) === r.negate) return false;
  }
  return true;
}
