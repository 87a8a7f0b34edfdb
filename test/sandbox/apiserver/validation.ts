/**
 * Validation on create and update with kube-apiserver's field paths and
 * detail texts, so an Invalid error names the same fields a real cluster
 * names: name rules per kind, required fields, selector/template agreement,
 * and the fields that may not change after creation.
 */
import type { KObject } from '../contract';
import { fieldError, type FieldError } from './errors';
import type { NameRule } from './kinds';
import { canonicalJson } from './patch';
import { fromLabelSelectorObject, matchesLabels } from './selectors';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

export function nameProblems(name: string, rule: NameRule, field = 'metadata.name'): FieldError[] {
  const errs: FieldError[] = [];
  switch (rule) {
    case 'label':
      if (name.length > 63) errs.push(fieldError(field, 'FieldValueInvalid', name, 'must be no more than 63 characters'));
      if (!LABEL.test(name)) errs.push(fieldError(field, 'FieldValueInvalid', name, LABEL_MSG));
      break;
    case 'dns1035':
      if (name.length > 63) errs.push(fieldError(field, 'FieldValueInvalid', name, 'must be no more than 63 characters'));
      if (!DNS1035.test(name)) errs.push(fieldError(field, 'FieldValueInvalid', name, DNS1035_MSG));
      break;
    case 'subdomain':
      if (name.length > 253) errs.push(fieldError(field, 'FieldValueInvalid', name, 'must be no more than 253 characters'));
      if (!SUBDOMAIN.test(name)) errs.push(fieldError(field, 'FieldValueInvalid', name, SUBDOMAIN_MSG));
      break;
    case 'path':
      if (name === '.' || name === '..') errs.push(fieldError(field, 'FieldValueInvalid', name, `may not be '${name}'`));
      for (const bad of ['/', '%']) if (name.includes(bad)) errs.push(fieldError(field, 'FieldValueInvalid', name, `may not contain '${bad}'`));
      break;
  }
  return errs;
}

const QUALIFIED = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function metadataProblems(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
    const slash = k.lastIndexOf('/');
    const namePart = slash >= 0 ? k.slice(slash + 1) : k;
    if (!QUALIFIED.test(namePart) || namePart.length > 63 || (slash >= 0 && !SUBDOMAIN.test(k.slice(0, slash)))) {
      errs.push(fieldError('metadata.labels', 'FieldValueInvalid', k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
    }
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      errs.push(fieldError('metadata.labels', 'FieldValueInvalid', v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
    }
  }
  return errs;
}

function containersProblems(spec: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errs.push(fieldError(`${path}.containers`, 'FieldValueRequired'));
    return errs;
  }
  const seen = new Set<string>();
  for (const [list, name] of [
    [spec.initContainers ?? [], 'initContainers'],
    [containers, 'containers'],
  ] as [any[], string][]) {
    list.forEach((c, i) => {
      const p = `${path}.${name}[${i}]`;
      if (!c?.name) errs.push(fieldError(`${p}.name`, 'FieldValueRequired'));
      else {
        errs.push(...nameProblems(c.name, 'label', `${p}.name`));
        if (seen.has(c.name)) errs.push(fieldError(`${p}.name`, 'FieldValueDuplicate', c.name));
        seen.add(c.name);
      }
      if (!c?.image) errs.push(fieldError(`${p}.image`, 'FieldValueRequired'));
      (c?.ports ?? []).forEach((port: any, j: number) => {
        const n = port?.containerPort;
        if (typeof n !== 'number' || n < 1 || n > 65535) {
          errs.push(fieldError(`${p}.ports[${j}].containerPort`, n === undefined ? 'FieldValueRequired' : 'FieldValueInvalid', n, n === undefined ? undefined : 'must be between 1 and 65535, inclusive'));
        }
      });
    });
  }
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v: any, i: number) => {
    if (!v?.name) errs.push(fieldError(`${path}.volumes[${i}].name`, 'FieldValueRequired'));
    else if (volumes.has(v.name)) errs.push(fieldError(`${path}.volumes[${i}].name`, 'FieldValueDuplicate', v.name));
    else volumes.add(v.name);
  });
  return errs;
}

function goMap(m: Record<string, string> | undefined): string {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return `map[string]string{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
}

function workloadProblems(spec: any, opts: { selectorRequired: boolean; restartPolicies?: string[] }): FieldError[] {
  const errs: FieldError[] = [];
  if (!spec) return [fieldError('spec', 'FieldValueRequired')];
  const sel = spec.selector;
  if (opts.selectorRequired && (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0))) {
    errs.push(fieldError('spec.selector', 'FieldValueRequired'));
  } else if (sel && !opts.restartPolicies) {
    const reqs = fromLabelSelectorObject(sel);
    if (reqs && reqs.length > 0 && !matchesLabels(reqs, spec.template?.metadata?.labels)) {
      errs.push(fieldError('spec.template.metadata.labels', 'FieldValueInvalid', undefined, '`selector` does not match template `labels`'));
      errs[errs.length - 1].detail = `Invalid value: ${goMap(spec.template?.metadata?.labels)}: \`selector\` does not match template \`labels\``;
    }
  }
  if (typeof spec.replicas === 'number' && spec.replicas < 0) {
    errs.push(fieldError('spec.replicas', 'FieldValueInvalid', spec.replicas, 'must be greater than or equal to 0'));
  }
  if (!spec.template) errs.push(fieldError('spec.template', 'FieldValueRequired'));
  else {
    errs.push(...containersProblems(spec.template.spec, 'spec.template.spec'));
    const rp = spec.template.spec?.restartPolicy;
    const allowed = opts.restartPolicies ?? ['Always'];
    if (rp !== undefined && !allowed.includes(rp)) {
      errs.push(fieldError('spec.template.spec.restartPolicy', 'FieldValueNotSupported', rp, `supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`));
    }
  }
  return errs;
}

/** Problems with a new or updated object (storage form, defaults applied). */
export function validate(group: string, resource: string, obj: KObject): FieldError[] {
  const errs = metadataProblems(obj);
  const spec = obj.spec;
  switch (`${group}/${resource}`) {
    case '/pods':
      errs.push(...containersProblems(spec, 'spec'));
      break;
    case 'apps/deployments':
    case 'apps/replicasets':
    case 'apps/statefulsets':
    case 'apps/daemonsets':
      errs.push(...workloadProblems(spec, { selectorRequired: true }));
      break;
    case '/replicationcontrollers': {
      const sel = spec?.selector ?? {};
      const asLabelSelector = { ...(spec ?? {}), selector: Object.keys(sel).length ? { matchLabels: sel } : undefined };
      errs.push(...workloadProblems(asLabelSelector, { selectorRequired: true }));
      break;
    }
    case 'batch/jobs':
      errs.push(...workloadProblems(spec, { selectorRequired: false, restartPolicies: ['OnFailure', 'Never'] }));
      if (spec?.template?.spec?.restartPolicy === undefined || spec?.template?.spec?.restartPolicy === 'Always') {
        const rp = spec?.template?.spec?.restartPolicy ?? 'Always';
        if (!errs.some((e) => e.field === 'spec.template.spec.restartPolicy')) {
          errs.push(fieldError('spec.template.spec.restartPolicy', 'FieldValueNotSupported', rp, 'supported values: "OnFailure", "Never"'));
        }
      }
      break;
    case 'batch/cronjobs':
      if (!spec?.schedule) errs.push(fieldError('spec.schedule', 'FieldValueRequired'));
      if (!spec?.jobTemplate?.spec?.template?.spec) errs.push(fieldError('spec.jobTemplate.spec.template.spec.containers', 'FieldValueRequired'));
      else errs.push(...containersProblems(spec.jobTemplate.spec.template.spec, 'spec.jobTemplate.spec.template.spec'));
      break;
    case '/services': {
      const type = spec?.type ?? 'ClusterIP';
      const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
      if (!types.includes(type)) errs.push(fieldError('spec.type', 'FieldValueNotSupported', type, `supported values: ${types.map((t) => JSON.stringify(t)).join(', ')}`));
      const ports: any[] = spec?.ports ?? [];
      if (ports.length === 0 && type !== 'ExternalName' && spec?.clusterIP !== 'None') errs.push(fieldError('spec.ports', 'FieldValueRequired'));
      const names = new Set<string>();
      ports.forEach((p, i) => {
        if (ports.length > 1 && !p.name) errs.push(fieldError(`spec.ports[${i}].name`, 'FieldValueRequired'));
        if (p.name) {
          if (names.has(p.name)) errs.push(fieldError(`spec.ports[${i}].name`, 'FieldValueDuplicate', p.name));
          names.add(p.name);
        }
        if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535) {
          errs.push(p.port === undefined ? fieldError(`spec.ports[${i}].port`, 'FieldValueRequired') : fieldError(`spec.ports[${i}].port`, 'FieldValueInvalid', p.port, 'must be between 1 and 65535, inclusive'));
        }
      });
      if (type === 'ExternalName' && !spec?.externalName) errs.push(fieldError('spec.externalName', 'FieldValueRequired'));
      break;
    }
    case '/persistentvolumeclaims':
      if (!spec?.accessModes?.length) errs.push(fieldError('spec.accessModes', 'FieldValueRequired'));
      if (!spec?.resources?.requests?.storage) errs.push(fieldError('spec.resources[storage]', 'FieldValueRequired'));
      break;
    case '/persistentvolumes':
      if (!spec?.accessModes?.length) errs.push(fieldError('spec.accessModes', 'FieldValueRequired'));
      if (!spec?.capacity?.storage) errs.push(fieldError('spec.capacity', 'FieldValueRequired'));
      break;
    case '/configmaps':
    case '/secrets':
      for (const field of ['data', 'binaryData']) {
        for (const k of Object.keys(obj[field] ?? {})) {
          if (!/^[-._a-zA-Z0-9]+$/.test(k)) {
            errs.push(fieldError(`${field}[${k}]`, 'FieldValueInvalid', k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
          }
        }
      }
      break;
    case 'rbac.authorization.k8s.io/rolebindings':
    case 'rbac.authorization.k8s.io/clusterrolebindings':
      if (!obj.roleRef?.name) errs.push(fieldError('roleRef.name', 'FieldValueRequired'));
      if (obj.roleRef?.kind && !['Role', 'ClusterRole'].includes(obj.roleRef.kind)) errs.push(fieldError('roleRef.kind', 'FieldValueNotSupported', obj.roleRef.kind, 'supported values: "Role", "ClusterRole"'));
      break;
    case 'apiextensions.k8s.io/customresourcedefinitions': {
      const names = spec?.names ?? {};
      const expected = `${names.plural}.${spec?.group}`;
      if (!spec?.group) errs.push(fieldError('spec.group', 'FieldValueRequired'));
      if (!names.plural) errs.push(fieldError('spec.names.plural', 'FieldValueRequired'));
      if (!names.kind) errs.push(fieldError('spec.names.kind', 'FieldValueRequired'));
      if (spec?.group && names.plural && obj.metadata.name !== expected) {
        errs.push(fieldError('metadata.name', 'FieldValueInvalid', obj.metadata.name, `must be spec.names.plural+"."+spec.group`));
      }
      if (!['Namespaced', 'Cluster'].includes(spec?.scope)) errs.push(fieldError('spec.scope', 'FieldValueNotSupported', spec?.scope, 'supported values: "Cluster", "Namespaced"'));
      const versions: any[] = spec?.versions ?? [];
      if (versions.length === 0) errs.push(fieldError('spec.versions', 'FieldValueInvalid', versions, 'must have exactly one version marked as storage version'));
      else if (versions.filter((v) => v.storage).length !== 1) errs.push(fieldError('spec.versions', 'FieldValueInvalid', versions.map((v) => v.name), 'must have exactly one version marked as storage version'));
      break;
    }
    case 'networking.k8s.io/ingresses':
      (spec?.rules ?? []).forEach((r: any, i: number) => {
        (r.http?.paths ?? []).forEach((p: any, j: number) => {
          if (!p.pathType) errs.push(fieldError(`spec.rules[${i}].http.paths[${j}].pathType`, 'FieldValueRequired', undefined, 'pathType must be specified'));
        });
      });
      break;
  }
  return errs;
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function goSelector(sel: any): string {
  const ml = sel?.matchLabels ? goMap(sel.matchLabels) : 'map[string]string(nil)';
  return `v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`;
}

/** Fields that may not change on update. */
export function validateUpdate(group: string, resource: string, obj: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const s = obj.spec ?? {};
  const o = old.spec ?? {};
  switch (`${group}/${resource}`) {
    case '/pods': {
      // Binding sets nodeName once; images, deadlines, grace and added tolerations may change; nothing else.
      const strip = (x: any): any => {
        const c = JSON.parse(JSON.stringify(x ?? {}));
        for (const list of [c.containers ?? [], c.initContainers ?? []]) for (const ct of list) delete ct.image;
        for (const k of ['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds', 'schedulingGates']) delete c[k];
        if (!o.nodeName) delete c.nodeName;
        return c;
      };
      const kept = (o.tolerations ?? []).every((t: unknown) => (s.tolerations ?? []).some((n: unknown) => same(n, t)));
      if (!same(strip(s), strip(o)) || !kept) {
        errs.push({
          field: 'spec',
          type: 'FieldValueForbidden',
          detail: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        });
      }
      break;
    }
    case '/services':
      if (o.clusterIP && o.clusterIP !== s.clusterIP && s.type !== 'ExternalName' && o.type !== 'ExternalName') {
        errs.push(fieldError('spec.clusterIPs[0]', 'FieldValueInvalid', s.clusterIPs ?? [], 'may not change once set'));
        errs[errs.length - 1].detail = `Invalid value: []string{${(s.clusterIPs ?? []).map((x: string) => JSON.stringify(x)).join(', ')}}: may not change once set`;
        errs.push(fieldError('spec.clusterIP', 'FieldValueInvalid', s.clusterIP ?? '', 'field is immutable'));
      }
      break;
    case 'apps/deployments':
    case 'apps/replicasets':
    case 'apps/daemonsets':
      if (!same(s.selector, o.selector)) errs.push({ field: 'spec.selector', type: 'FieldValueInvalid', detail: `Invalid value: ${goSelector(s.selector)}: field is immutable` });
      break;
    case 'apps/statefulsets': {
      const strip = (x: any): any => {
        const c = { ...x };
        for (const k of ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds']) delete c[k];
        return c;
      };
      if (!same(strip(s), strip(o))) {
        errs.push({
          field: 'spec',
          type: 'FieldValueForbidden',
          detail: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        });
      }
      break;
    }
    case 'batch/jobs':
      if (!same(s.template, o.template) && !(o.suspend && s.suspend !== undefined)) {
        errs.push({ field: 'spec.template', type: 'FieldValueInvalid', detail: 'Invalid value: core.PodTemplateSpec{...}: field is immutable' });
      }
      if (!same(s.selector, o.selector)) errs.push({ field: 'spec.selector', type: 'FieldValueInvalid', detail: `Invalid value: ${goSelector(s.selector)}: field is immutable` });
      if (s.completions !== o.completions && !(o.completionMode === 'Indexed')) errs.push(fieldError('spec.completions', 'FieldValueInvalid', s.completions, 'field is immutable'));
      break;
    case '/persistentvolumeclaims': {
      const strip = (x: any): any => {
        const c = JSON.parse(JSON.stringify(x ?? {}));
        if (c.resources) delete c.resources.requests;
        delete c.volumeAttributesClassName;
        // Binding fills volumeName once; that is not a user change.
        if (!o.volumeName) delete c.volumeName;
        return c;
      };
      if (!same(strip(s), strip(o))) {
        errs.push({ field: 'spec', type: 'FieldValueForbidden', detail: 'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims' });
      }
      break;
    }
    case '/configmaps':
    case '/secrets':
      if (old.immutable === true) {
        if (!same(obj.data, old.data)) errs.push({ field: 'data', type: 'FieldValueForbidden', detail: 'Forbidden: field is immutable when `immutable` is set' });
        if (!same(obj.binaryData, old.binaryData) && resource === 'configmaps') errs.push({ field: 'binaryData', type: 'FieldValueForbidden', detail: 'Forbidden: field is immutable when `immutable` is set' });
        if (obj.immutable !== true) errs.push({ field: 'immutable', type: 'FieldValueForbidden', detail: 'Forbidden: field is immutable when `immutable` is set' });
      }
      if (resource === 'secrets' && obj.type !== old.type) errs.push(fieldError('type', 'FieldValueInvalid', obj.type, 'field is immutable'));
      break;
    case 'rbac.authorization.k8s.io/rolebindings':
    case 'rbac.authorization.k8s.io/clusterrolebindings':
      if (!same(obj.roleRef, old.roleRef)) {
        errs.push({ field: 'roleRef', type: 'FieldValueInvalid', detail: `Invalid value: rbac.RoleRef{APIGroup:${JSON.stringify(obj.roleRef?.apiGroup ?? '')}, Kind:${JSON.stringify(obj.roleRef?.kind ?? '')}, Name:${JSON.stringify(obj.roleRef?.name ?? '')}}: cannot change roleRef` });
      }
      break;
    case 'apiextensions.k8s.io/customresourcedefinitions':
      if (s.scope !== o.scope) errs.push(fieldError('spec.scope', 'FieldValueInvalid', s.scope, 'field is immutable'));
      break;
  }
  return errs;
}
