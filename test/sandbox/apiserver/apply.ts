/**
 * Field ownership (metadata.managedFields) and server-side apply: every
 * write records which manager set which fields (FieldsV1), and an apply
 * patch merges the applied configuration, removes the fields the same
 * manager applied before and no longer applies, and reports a 409 Conflict
 * when it would change a field another manager set to a different value,
 * unless forced, which takes the field over.
 */
import type { KObject } from '../contract';
import { ApiError } from './errors';
import { canonicalJson, clone, listStrategy } from './patch';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

const SEP = '\u0001';
const UNTRACKED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generateName']);
const DOT_MAPS = new Set(['labels', 'annotations', 'matchLabels', 'nodeSelector', 'rollingUpdate', 'limits', 'requests', 'data', 'binaryData', 'stringData', 'selector', 'capacity']);
const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isAtomic(names: string[], kind: string): boolean {
  const last = names[names.length - 1];
  if (last === 'selector' && names.length === 2 && names[0] === 'spec' && kind !== 'Service' && kind !== 'ReplicationController') return true;
  if (last === 'selector' && names[names.length - 2] === 'spec' && names.includes('jobTemplate')) return true;
  return false;
}

function keyFor(item: any, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    let v = item?.[k];
    if (v === undefined && k === 'protocol') v = 'TCP';
    if (v === undefined && k === 'whenUnsatisfiable') continue;
    out[k] = v;
  }
  return out;
}

/** Every owned path of `obj` with a value fingerprint, as SMD would track it. */
export function leafValues(obj: KObject | undefined, kind: string, opts: { includeStatus: boolean }): Map<string, string> {
  const out = new Map<string, string>();
  if (!obj) return out;
  const walk = (v: any, segs: string[], names: string[]): void => {
    if (isObj(v)) {
      const keys = Object.keys(v);
      if (keys.length === 0 || isAtomic(names, kind)) {
        out.set(segs.join(SEP), canonicalJson(v));
        return;
      }
      if (DOT_MAPS.has(names[names.length - 1])) out.set([...segs, '.'].join(SEP), '');
      for (const k of keys) walk(v[k], [...segs, `f:${k}`], [...names, k]);
      return;
    }
    if (Array.isArray(v)) {
      const strategy = listStrategy(names.slice(0, -1), names[names.length - 1], kind, true);
      if (strategy && 'keys' in strategy) {
        for (const item of v) {
          const seg = `k:${JSON.stringify(keyFor(item, strategy.keys))}`;
          out.set([...segs, seg, '.'].join(SEP), '');
          if (isObj(item)) for (const k of Object.keys(item)) walk(item[k], [...segs, seg, `f:${k}`], [...names, k]);
        }
        return;
      }
      if (strategy && 'set' in strategy) {
        for (const item of v) out.set([...segs, `v:${JSON.stringify(item)}`].join(SEP), '');
        return;
      }
      out.set(segs.join(SEP), canonicalJson(v));
      return;
    }
    out.set(segs.join(SEP), canonicalJson(v));
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !opts.includeStatus) continue;
    if (k === 'metadata') {
      for (const [mk, mv] of Object.entries(v ?? {})) if (!UNTRACKED_META.has(mk)) walk(mv, ['f:metadata', `f:${mk}`], ['metadata', mk]);
      continue;
    }
    walk(v, [`f:${k}`], [k]);
  }
  return out;
}

export function toFieldsV1(paths: Iterable<string>): Record<string, unknown> {
  const root: Record<string, any> = {};
  for (const p of paths) {
    let cur = root;
    for (const seg of p.split(SEP)) cur = cur[seg] ??= {};
  }
  return root;
}

export function fromFieldsV1(tree: Record<string, unknown> | undefined): Set<string> {
  const out = new Set<string>();
  const walk = (node: Record<string, any>, segs: string[]): void => {
    const keys = Object.keys(node);
    if (keys.length === 0 && segs.length) out.add(segs.join(SEP));
    for (const k of keys) walk(node[k], [...segs, k]);
  };
  if (tree) walk(tree as Record<string, any>, []);
  return out;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Records an Update by `manager`: it owns what it changed; others lose what it changed or removed. */
export function recordUpdate(old: KObject | undefined, next: KObject, manager: string, apiVersion: string, subresource: string | undefined, kind: string): void {
  const includeStatus = subresource === 'status';
  const before = leafValues(old, kind, { includeStatus });
  const after = leafValues(next, kind, { includeStatus });
  const changed = new Set<string>();
  for (const [p, v] of after) if (before.get(p) !== v) changed.add(p);
  const removed = new Set<string>();
  for (const p of before.keys()) if (!after.has(p)) removed.add(p);
  const entries: ManagedFieldsEntry[] = clone((old?.metadata.managedFields as ManagedFieldsEntry[] | undefined) ?? []);
  if (changed.size === 0 && removed.size === 0) {
    next.metadata.managedFields = entries.length ? entries : undefined;
    if (!entries.length) delete next.metadata.managedFields;
    return;
  }
  const result: ManagedFieldsEntry[] = [];
  let mine: ManagedFieldsEntry | undefined;
  for (const e of entries) {
    const set = fromFieldsV1(e.fieldsV1);
    const isMine = e.manager === manager && e.operation === 'Update' && (e.subresource ?? '') === (subresource ?? '');
    for (const p of changed) if (!isMine) set.delete(p);
    for (const p of removed) set.delete(p);
    if (isMine) {
      for (const p of changed) set.add(p);
      mine = { ...e, apiVersion, time: now(), fieldsV1: toFieldsV1(set) };
      if (set.size) result.push(mine);
      continue;
    }
    if (set.size) result.push({ ...e, fieldsV1: toFieldsV1(set) });
  }
  if (!mine && changed.size) {
    const entry: ManagedFieldsEntry = { manager, operation: 'Update', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(changed) };
    if (subresource) entry.subresource = subresource;
    result.push(entry);
  }
  if (result.length) next.metadata.managedFields = result;
  else delete next.metadata.managedFields;
}

function renderPath(p: string): string {
  let out = '';
  for (const seg of p.split(SEP)) {
    if (seg === '.') continue;
    if (seg.startsWith('f:')) out += `.${seg.slice(2)}`;
    else if (seg.startsWith('k:')) {
      const keys = JSON.parse(seg.slice(2)) as Record<string, unknown>;
      out += `[${Object.entries(keys)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (seg.startsWith('v:')) out += `[=${seg.slice(2)}]`;
  }
  return out;
}

function conflictError(conflicts: { manager: string; apiVersion: string; path: string }[], group: string, resource: string, name: string): ApiError {
  const byManager = new Map<string, { apiVersion: string; paths: string[] }>();
  for (const c of conflicts) {
    const e = byManager.get(c.manager) ?? { apiVersion: c.apiVersion, paths: [] };
    e.paths.push(renderPath(c.path));
    byManager.set(c.manager, e);
  }
  const n = conflicts.length;
  let message: string;
  if (n === 1) {
    const [m, e] = [...byManager][0];
    message = `Apply failed with 1 conflict: conflict with "${m}" using ${e.apiVersion}: ${e.paths[0]}`;
  } else {
    const parts = [...byManager].map(([m, e]) => `conflicts with "${m}" using ${e.apiVersion}:\n${e.paths.map((p) => `- ${p}`).join('\n')}`);
    message = `Apply failed with ${n} conflicts: ${parts.join('\n')}`;
  }
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: renderPath(c.path) }));
  const details: Record<string, unknown> = { name };
  if (group) details.group = group;
  details.kind = resource;
  details.causes = causes;
  return new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Conflict', details: details as any, code: 409 });
}

/** Merges an applied configuration into `live` as server-side apply does. */
export function serverSideApply(
  live: KObject | undefined,
  applied: KObject,
  opts: { manager: string; force: boolean; apiVersion: string; kind: string; group: string; resource: string; subresource?: string; defaulted?: KObject },
): KObject {
  const includeStatus = opts.subresource === 'status';
  const appliedLeaves = leafValues(applied, opts.kind, { includeStatus });
  // Values are compared after defaulting, so an applied atomic value that only
  // lacks server defaults is the same value as the live one.
  const comparable = opts.defaulted ? leafValues(opts.defaulted, opts.kind, { includeStatus }) : appliedLeaves;
  const valueOf = (p: string): string | undefined => comparable.get(p) ?? appliedLeaves.get(p);
  const liveLeaves = leafValues(live, opts.kind, { includeStatus });
  const entries: ManagedFieldsEntry[] = clone((live?.metadata.managedFields as ManagedFieldsEntry[] | undefined) ?? []);
  const isMine = (e: ManagedFieldsEntry): boolean => e.manager === opts.manager && e.operation === 'Apply' && (e.subresource ?? '') === (opts.subresource ?? '');
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  const sets = entries.map((e) => fromFieldsV1(e.fieldsV1));
  entries.forEach((e, i) => {
    if (isMine(e) || (e.subresource ?? '') !== (opts.subresource ?? '')) return;
    for (const p of sets[i]) {
      if (!appliedLeaves.has(p) || p.endsWith(SEP + '.')) continue;
      if (liveLeaves.get(p) !== valueOf(p)) conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, path: p });
    }
  });
  if (conflicts.length && !opts.force) throw conflictError(conflicts, opts.group, opts.resource, applied.metadata.name);
  if (opts.force) {
    for (const c of conflicts) entries.forEach((e, i) => e.manager === c.manager && !isMine(e) && sets[i].delete(c.path));
  }
  const mineIdx = entries.findIndex(isMine);
  const previous = mineIdx >= 0 ? sets[mineIdx] : new Set<string>();
  const ownedByOthers = new Set<string>();
  sets.forEach((s, i) => i !== mineIdx && s.forEach((p) => ownedByOthers.add(p)));
  const toRemove = [...previous].filter((p) => !appliedLeaves.has(p) && !ownedByOthers.has(p));
  let result: KObject = live ? clone(live) : ({ apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} } as KObject);
  toRemove.sort((a, b) => b.split(SEP).length - a.split(SEP).length);
  for (const p of toRemove) removePath(result, p.split(SEP), opts.kind);
  result = mergeApplied(result, applied, [], opts.kind) as KObject;
  result.apiVersion = applied.apiVersion;
  result.kind = applied.kind;
  const out: ManagedFieldsEntry[] = [];
  entries.forEach((e, i) => {
    if (i === mineIdx) return;
    if (sets[i].size) out.push({ ...e, fieldsV1: toFieldsV1(sets[i]) });
  });
  const mine: ManagedFieldsEntry = { manager: opts.manager, operation: 'Apply', apiVersion: opts.apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(appliedLeaves.keys()) };
  if (opts.subresource) mine.subresource = opts.subresource;
  if (mineIdx >= 0) out.splice(Math.min(mineIdx, out.length), 0, mine);
  else out.push(mine);
  result.metadata.managedFields = out;
  return result;
}

function mergeApplied(live: any, applied: any, names: string[], kind: string): any {
  if (isObj(applied)) {
    if (isAtomic(names, kind)) return clone(applied);
    const out: Record<string, any> = isObj(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) {
      if (names.length === 1 && names[0] === 'metadata' && (k === 'managedFields' || k === 'resourceVersion' || k === 'uid' || k === 'creationTimestamp' || k === 'generation')) continue;
      out[k] = mergeApplied(out[k], v, [...names, k], kind);
    }
    return out;
  }
  if (Array.isArray(applied)) {
    const strategy = listStrategy(names.slice(0, -1), names[names.length - 1], kind, true);
    if (strategy && 'keys' in strategy && Array.isArray(live)) {
      const out = [...live];
      for (const item of applied) {
        const key = JSON.stringify(keyFor(item, strategy.keys));
        const idx = out.findIndex((x) => JSON.stringify(keyFor(x, strategy.keys)) === key);
        if (idx >= 0) out[idx] = mergeApplied(out[idx], item, names, kind);
        else out.push(clone(item));
      }
      return out;
    }
    if (strategy && 'set' in strategy && Array.isArray(live)) {
      const out = [...live];
      for (const v of applied) if (!out.includes(v)) out.push(v);
      return out;
    }
    return clone(applied);
  }
  return applied;
}

function removePath(obj: any, segs: string[], kind: string): void {
  const names: string[] = [];
  const chain: { parent: any; key: string }[] = [];
  let cur = obj;
  const done = (): void => {
    // Maps emptied by the removal go too: nobody owns anything inside them.
    for (let i = chain.length - 1; i >= 0; i--) {
      const { parent, key } = chain[i];
      const v = parent?.[key];
      if (isObj(v) && Object.keys(v).length === 0 && !(i === 0 && key === 'metadata')) delete parent[key];
      else break;
    }
  };
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i];
    if (segs[i + 1] === '.' && i + 1 === segs.length - 1) {
      // A map that other managers still fill stays; an item of a keyed list goes.
      if (seg.startsWith('f:') && isObj(cur) && isObj(cur[seg.slice(2)]) && Object.keys(cur[seg.slice(2)]).length > 0) return;
      removeSeg(cur, seg, names, kind);
      done();
      return;
    }
    if (seg.startsWith('f:') && isObj(cur)) chain.push({ parent: cur, key: seg.slice(2) });
    else chain.length = 0;
    cur = step(cur, seg, names, kind);
    if (cur === undefined) return;
  }
  const last = segs[segs.length - 1];
  if (last !== '.') {
    removeSeg(cur, last, names, kind);
    done();
  }
}

function step(cur: any, seg: string, names: string[], kind: string): any {
  if (seg.startsWith('f:')) {
    names.push(seg.slice(2));
    return isObj(cur) ? cur[seg.slice(2)] : undefined;
  }
  if (seg.startsWith('k:') && Array.isArray(cur)) {
    const strategy = listStrategy(names.slice(0, -1), names[names.length - 1], kind, true);
    if (!strategy || !('keys' in strategy)) return undefined;
    return cur.find((x) => JSON.stringify(keyFor(x, strategy.keys)) === seg.slice(2));
  }
  return undefined;
}

function removeSeg(cur: any, seg: string, names: string[], kind: string): void {
  if (seg.startsWith('f:') && isObj(cur)) delete cur[seg.slice(2)];
  else if (seg.startsWith('k:') && Array.isArray(cur)) {
    const strategy = listStrategy(names.slice(0, -1), names[names.length - 1], kind, true);
    if (!strategy || !('keys' in strategy)) return;
    const idx = cur.findIndex((x) => JSON.stringify(keyFor(x, strategy.keys)) === seg.slice(2));
    if (idx >= 0) cur.splice(idx, 1);
  } else if (seg.startsWith('v:') && Array.isArray(cur)) {
    const v = JSON.parse(seg.slice(2));
    const idx = cur.indexOf(v);
    if (idx >= 0) cur.splice(idx, 1);
  }
}
