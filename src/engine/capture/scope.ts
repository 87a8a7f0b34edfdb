/**
 * The scope of a capture turned into decisions: which namespaces, which
 * served resources. Pure functions over discovery results and names.
 */
import { qualifiedName, type ApiResource } from '../kube/types';
import type { CaptureScope } from './types';

/** Shell-style glob: `*` any run of characters, `?` one character; everything else literal. */
export function globMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (const c of pattern) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`).test(name);
}

export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/** Whether a namespace is in scope by name: included (or no include list), and not excluded. */
export function namespaceInScope(scope: CaptureScope, namespace: string): boolean {
  const include = scope.namespaces ?? [];
  if (include.length > 0 && !include.some((p) => globMatch(p, namespace))) return false;
  return !(scope.excludeNamespaces ?? []).some((p) => globMatch(p, namespace));
}

export function hasNamespaceFilter(scope: CaptureScope): boolean {
  return (scope.namespaces ?? []).length > 0;
}

/** The names a user may give a resource by, lower case: Kind, plural, plural.group, Kind.group, short names. */
export function namesOf(r: ApiResource): string[] {
  const kind = r.kind.toLowerCase();
  const names = [kind, r.resource, qualifiedName(r), ...(r.shortNames ?? []).map((s) => s.toLowerCase())];
  if (r.group) names.push(`${kind}.${r.group}`);
  return names;
}

export class UnknownKindError extends Error {
  constructor(
    readonly kind: string,
    readonly context: string,
    readonly suggestions: string[],
  ) {
    super(
      `unknown kind "${kind}": context ${context} serves no resource by that name` +
        (suggestions.length > 0 ? `; did you mean ${suggestions.join(', ')}?` : '; `kubectl api-resources` lists what it serves'),
    );
    this.name = 'UnknownKindError';
  }
}

/** Levenshtein distance: the fewest one-character insertions, deletions and substitutions from a to b, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Served resources whose names come close to an unknown one, best first, as kubectl names them. */
export function closeMatches(name: string, resources: ApiResource[], max = 3): string[] {
  const wanted = name.toLowerCase();
  const scored: { name: string; distance: number }[] = [];
  for (const r of resources) {
    let best = Infinity;
    for (const n of namesOf(r)) {
      const d = n.startsWith(wanted) || wanted.startsWith(n) ? Math.abs(n.length - wanted.length) / 4 : editDistance(wanted, n);
      best = Math.min(best, d);
    }
    if (best <= Math.max(2, Math.floor(wanted.length / 3))) scored.push({ name: qualifiedName(r), distance: best });
  }
  scored.sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
  return [...new Set(scored.map((s) => s.name))].slice(0, max);
}

/**
 * The resources a list of kind names means. One name may mean several
 * ("events" is served by two groups; a CRD may reuse a built-in plural):
 * all of them are meant, as "plural.group" narrows to one. A name that means none throws
 * UnknownKindError with the closest served names.
 */
export function resolveKinds(names: string[], resources: ApiResource[], context: string): ApiResource[] {
  const out = new Set<ApiResource>();
  for (const name of names) {
    const wanted = name.trim().toLowerCase();
    const hits = resources.filter((r) => namesOf(r).includes(wanted));
    if (hits.length === 0) throw new UnknownKindError(name, context, closeMatches(wanted, resources));
    for (const r of hits) out.add(r);
  }
  return [...out];
}

/** Resource identity for sets and maps: "apps/deployments", "/configmaps". */
export function resourceKey(r: Pick<ApiResource, 'group' | 'resource'>): string {
  return `${r.group}/${r.resource}`;
}

/** The kinds filter of a scope, resolved once against discovery. */
export interface KindFilter {
  includes(r: Pick<ApiResource, 'group' | 'resource'>): boolean;
  /** Resources named by includeKinds (for warnings about ones that are never captured). */
  readonly included: ApiResource[];
}

export function kindFilter(scope: CaptureScope, resources: ApiResource[], context: string): KindFilter {
  const included = resolveKinds(scope.includeKinds ?? [], resources, context);
  const excluded = resolveKinds(scope.excludeKinds ?? [], resources, context);
  const inc = new Set(included.map(resourceKey));
  const exc = new Set(excluded.map(resourceKey));
  return {
    included,
    includes: (r) => (inc.size === 0 || inc.has(resourceKey(r))) && !exc.has(resourceKey(r)),
  };
}
