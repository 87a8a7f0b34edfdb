/**
 * The three patch formats PATCH accepts: JSON Patch (RFC 6902), JSON merge
 * patch (RFC 7386) and Kubernetes strategic merge patch, whose list merge
 * keys and `$patch` / `$setElementOrder` / `$retainKeys` /
 * `$deleteFromPrimitiveList` directives are what kubectl's client-side
 * apply, edit, label, annotate and scale send.
 */
import { badRequest } from './errors';

/** How a list field merges: by key fields, as a set of primitives, or atomically. */
export type ListStrategy = { keys: string[] } | { set: true } | undefined;

/**
 * List fields with a patch merge key in the built-in types, by field name;
 * `ports` depends on whether it belongs to a Service spec or a container.
 * Server-side apply keys lists by the same fields (plus protocol for ports).
 */
export function listStrategy(parentPath: string[], field: string, kind: string, forApply = false): ListStrategy {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'imagePullSecrets':
    case 'env':
    case 'resourceClaims':
    case 'schedulingGates':
      return { keys: ['name'] };
    case 'volumeMounts':
      return { keys: ['mountPath'] };
    case 'volumeDevices':
      return { keys: ['devicePath'] };
    case 'hostAliases':
      return { keys: ['ip'] };
    case 'conditions':
      return { keys: ['type'] };
    case 'addresses':
      return parentPath[parentPath.length - 1] === 'status' && kind === 'Node' ? { keys: ['type'] } : undefined;
    case 'ownerReferences':
      return { keys: ['uid'] };
    case 'finalizers':
      return parentPath.length === 1 && parentPath[0] === 'metadata' ? { set: true } : undefined;
    case 'topologySpreadConstraints':
      return { keys: forApply ? ['topologyKey', 'whenUnsatisfiable'] : ['topologyKey'] };
    case 'ports': {
      const parent = parentPath[parentPath.length - 1];
      if (kind === 'Service' && parent === 'spec' && parentPath.length === 1) return { keys: forApply ? ['port', 'protocol'] : ['port'] };
      if (parentPath.includes('containers') || parentPath.includes('initContainers') || parentPath.includes('ephemeralContainers')) {
        return { keys: forApply ? ['containerPort', 'protocol'] : ['containerPort'] };
      }
      return undefined;
    }
  }
  return undefined;
}

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with object keys sorted: equal values give equal text whatever order their keys came in. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return v === undefined ? 'null' : JSON.stringify(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

// ---------- JSON merge patch ----------

export function mergePatch(target: any, patch: any): any {
  if (!isObj(patch)) return clone(patch);
  const out: Record<string, any> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---------- JSON patch ----------

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`the server rejected our request due to an error in our request`);
  return path.slice(1).split('/').map(unescapePointer);
}

function parentOf(doc: any, parts: string[], op: string, path: string): any {
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
    if (cur === undefined) throw badRequest(`the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return cur;
}

export function jsonPatch(doc: any, ops: any): any {
  if (!Array.isArray(ops)) throw badRequest('the server rejected our request due to an error in our request: json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = clone(doc);
  for (const op of ops) {
    const parts = pointer(String(op.path ?? ''));
    const last = parts[parts.length - 1];
    switch (op.op) {
      case 'add':
      case 'replace': {
        if (parts.length === 0) {
          out = clone(op.value);
          break;
        }
        const parent = parentOf(out, parts, op.op, op.path);
        if (Array.isArray(parent)) {
          const idx = last === '-' ? parent.length : Number(last);
          if (op.op === 'add') parent.splice(idx, 0, clone(op.value));
          else {
            if (idx >= parent.length) throw badRequest(`the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: ${op.path}: missing value`);
            parent[idx] = clone(op.value);
          }
        } else if (isObj(parent)) {
          if (op.op === 'replace' && !(last in parent)) throw badRequest(`the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: ${op.path}: missing value`);
          parent[last] = clone(op.value);
        } else throw badRequest(`the server rejected our request due to an error in our request: ${op.op} operation does not apply: doc is missing path: "${op.path}": missing value`);
        break;
      }
      case 'remove': {
        const parent = parentOf(out, parts, 'remove', op.path);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else if (isObj(parent) && last in parent) delete parent[last];
        else throw badRequest(`the server rejected our request due to an error in our request: remove operation does not apply: doc is missing path: "${op.path}": missing value`);
        break;
      }
      case 'test': {
        const parent = parentOf(out, parts, 'test', op.path);
        const v = Array.isArray(parent) ? parent[Number(last)] : parent?.[last];
        if (JSON.stringify(v) !== JSON.stringify(op.value)) throw badRequest(`the server rejected our request due to an error in our request: testing value ${op.path} failed: test failed`);
        break;
      }
      case 'move':
      case 'copy': {
        const from = pointer(String(op.from ?? ''));
        const fp = parentOf(out, from, op.op, op.from);
        const fl = from[from.length - 1];
        const v = clone(Array.isArray(fp) ? fp[Number(fl)] : fp?.[fl]);
        if (op.op === 'move') {
          if (Array.isArray(fp)) fp.splice(Number(fl), 1);
          else delete fp[fl];
        }
        out = jsonPatch(out, [{ op: 'add', path: op.path, value: v }]);
        break;
      }
      default:
        throw badRequest(`the server rejected our request due to an error in our request: Unexpected kind: ${op.op}`);
    }
  }
  return out;
}

// ---------- strategic merge patch ----------

export function strategicMergePatch(original: any, patch: any, kind: string): any {
  return smpMap(original, patch, [], kind);
}

function smpMap(orig: any, patch: any, path: string[], kind: string): any {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, any> = isObj(orig) ? { ...orig } : {};
  const retain: string[] | undefined = Array.isArray(patch.$retainKeys) ? patch.$retainKeys : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = out[field].filter((x: any) => !v.includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = smpList(out[k], v, [...path, k], k, kind);
    } else if (isObj(v)) {
      const merged = smpMap(out[k], v, [...path, k], kind);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(v)) continue;
    const field = k.slice('$setElementOrder/'.length);
    if (Array.isArray(out[field])) out[field] = reorder(out[field], v, listStrategy(path, field, kind));
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k) && !(k in patch)) delete out[k];
  return out;
}

function stripDirectives(v: any): any {
  if (Array.isArray(v)) return v.filter((x) => !(isObj(x) && x.$patch === 'delete')).map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Record<string, any> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function itemKey(item: any, keys: string[]): string {
  return JSON.stringify(keys.map((k) => item?.[k]));
}

function smpList(orig: any, patch: any[], path: string[], field: string, kind: string): any[] {
  const strategy = listStrategy(path.slice(0, -1), field, kind);
  const replaceAll = patch.some((x) => isObj(x) && x.$patch === 'replace');
  if (replaceAll) return stripDirectives(patch.filter((x) => !(isObj(x) && x.$patch === 'replace')));
  if (!strategy) return stripDirectives(patch);
  const base: any[] = Array.isArray(orig) ? [...orig] : [];
  if ('set' in strategy) {
    for (const v of patch) if (!base.includes(v)) base.push(v);
    return base;
  }
  const keys = strategy.keys;
  const mergeKey = keys[0];
  for (const item of patch) {
    if (!isObj(item)) continue;
    const idx = base.findIndex((b) => isObj(b) && b[mergeKey] === item[mergeKey]);
    if (item.$patch === 'delete') {
      if (idx >= 0) base.splice(idx, 1);
      continue;
    }
    if (idx >= 0) base[idx] = smpMap(base[idx], item, path, kind);
    else base.push(stripDirectives(item));
  }
  return base;
}

function reorder(list: any[], order: any[], strategy: ListStrategy): any[] {
  const keyOf = (x: any): string => (strategy && 'keys' in strategy ? String(x?.[strategy.keys[0]]) : JSON.stringify(x));
  const wanted = order.map((o) => (strategy && 'keys' in strategy ? String(o?.[strategy.keys[0]]) : JSON.stringify(o)));
  const inOrder = wanted.map((w) => list.find((x) => keyOf(x) === w)).filter((x) => x !== undefined);
  const rest = list.filter((x) => !wanted.includes(keyOf(x)));
  return [...inOrder, ...rest];
}

export { itemKey };
