/**
 * RBAC authorization evaluated over the Role, ClusterRole, RoleBinding and
 * ClusterRoleBinding objects stored in the cluster, so that creating a
 * binding changes what a user may do, exactly as on a real cluster.
 */
import type { KObject } from '../contract';
import type { ObjectStore } from './store';

export interface UserInfo {
  user: string;
  groups: string[];
}

export interface Attributes {
  verb: string;
  /** Resource requests. */
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Non-resource requests (/version, /api, ...). */
  path?: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

function subjectMatches(subjects: any[] | undefined, who: UserInfo, bindingNamespace: string | undefined): string | undefined {
  for (const s of subjects ?? []) {
    if (s.kind === 'User' && s.name === who.user) return `User "${s.name}"`;
    if (s.kind === 'Group' && who.groups.includes(s.name)) return `Group "${s.name}"`;
    if (s.kind === 'ServiceAccount') {
      const ns = s.namespace ?? bindingNamespace;
      if (who.user === `system:serviceaccount:${ns}:${s.name}`) return `ServiceAccount "${s.name}/${ns}"`;
    }
  }
  return undefined;
}

function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  const verbs = rule.verbs ?? [];
  if (!verbs.includes('*') && !verbs.includes(a.verb)) return false;
  if (a.path !== undefined) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path!.startsWith(u.slice(0, -1))));
  }
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(a.group ?? '')) return false;
  const resources = rule.resources ?? [];
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource!;
  const resOk = resources.some((r) => r === '*' || r === combined || (a.subresource && r === `*/${a.subresource}`));
  if (!resOk) return false;
  const names = rule.resourceNames ?? [];
  if (names.length && (!a.name || !names.includes(a.name))) return false;
  return true;
}

export class Authorizer {
  constructor(private readonly store: ObjectStore) {}

  private roleRules(kind: string, name: string, namespace?: string): PolicyRule[] {
    const s = kind === 'ClusterRole' ? this.store.get('rbac.authorization.k8s.io/clusterroles', '', name) : this.store.get('rbac.authorization.k8s.io/roles', namespace ?? '', name);
    return (s?.obj.rules as PolicyRule[] | undefined) ?? [];
  }

  /** Every binding that applies to `who` in `namespace` (cluster bindings first), with its rules. */
  private *applicable(who: UserInfo, namespace: string | undefined): Generator<{ binding: KObject; kind: string; subject: string; rules: PolicyRule[] }> {
    for (const s of this.store.list('rbac.authorization.k8s.io/clusterrolebindings')) {
      const subject = subjectMatches(s.obj.subjects, who, undefined);
      if (!subject) continue;
      yield { binding: s.obj, kind: 'ClusterRoleBinding', subject, rules: this.roleRules('ClusterRole', s.obj.roleRef?.name) };
    }
    if (!namespace) return;
    for (const s of this.store.list('rbac.authorization.k8s.io/rolebindings', namespace)) {
      const subject = subjectMatches(s.obj.subjects, who, namespace);
      if (!subject) continue;
      yield { binding: s.obj, kind: 'RoleBinding', subject, rules: this.roleRules(s.obj.roleRef?.kind, s.obj.roleRef?.name, namespace) };
    }
  }

  authorize(who: UserInfo, a: Attributes): Decision {
    for (const b of this.applicable(who, a.path !== undefined ? undefined : a.namespace)) {
      if (b.rules.some((r) => ruleAllows(r, a))) {
        const where = b.kind === 'RoleBinding' ? ` in namespace "${b.binding.metadata.namespace}"` : '';
        return { allowed: true, reason: `RBAC: allowed by ${b.kind} "${b.binding.metadata.name}"${where} of ${b.binding.roleRef?.kind} "${b.binding.roleRef?.name}" to ${b.subject}` };
      }
    }
    return { allowed: false, reason: '' };
  }

  /** What SelfSubjectRulesReview reports for `who` in `namespace`. */
  rules(who: UserInfo, namespace: string): { resourceRules: PolicyRule[]; nonResourceRules: PolicyRule[] } {
    const resourceRules: PolicyRule[] = [];
    const nonResourceRules: PolicyRule[] = [];
    for (const b of this.applicable(who, namespace)) {
      for (const r of b.rules) {
        if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
        else {
          const rr: PolicyRule = { verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources };
          if (r.resourceNames?.length) rr.resourceNames = r.resourceNames;
          resourceRules.push(rr);
        }
      }
    }
    return { resourceRules, nonResourceRules };
  }
}
