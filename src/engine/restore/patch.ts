/**
 * The two patch formats a profile's `patches` rules take: RFC 6902 JSON
 * Patch (operations on JSON Pointers, RFC 6901) and RFC 7386 JSON Merge
 * Patch. Both return a new document and leave the one given untouched: the
 * same source object is transformed again on every plan.
 */
import { isDeepStrictEqual } from 'node:util';
import type { JsonPatchOperation } from './types';

/** A `test` operation found a different value: the rule does not apply to this object. */
export class JsonPatchTestFailed extends Error {
  constructor(readonly path: string) {
    super(`test at ${path || '(the whole document)'} failed`);
    this.name = 'JsonPatchTestFailed';
  }
}

/** An operation that cannot be done on this document (a missing path, a bad index, a malformed pointer). */
export class JsonPatchError extends Error {
  constructor(
    readonly index: number,
    readonly op: JsonPatchOperation,
    what: string,
  ) {
    super(`operation ${index} (${op.op} ${op.path}): ${what}`);
    this.name = 'JsonPatchError';
  }
}

type Container = Record<string, unknown> | unknown[];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

/** "/a/b~1c/~0d" → ["a", "b/c", "~d"]; "" → [] (the whole document). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`"${pointer}" is not a JSON pointer: it must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new Error(`"${pointer}" has a "~" not followed by 0 or 1 (write ~0 for "~", ~1 for "/")`);
      // ~1 first, so that "~01" becomes "~1" and not "/".
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** An array index token: "0" or digits without a leading zero; `end` also accepts "-" (one past the last). */
function arrayIndex(token: string, array: unknown[], allowEnd: boolean): number {
  if (token === '-' && allowEnd) return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`"${token}" is not an array index`);
  const i = Number(token);
  if (i > array.length || (!allowEnd && i === array.length)) throw new Error(`index ${i} is out of bounds (the array has ${array.length} items)`);
  return i;
}

function has(container: Container, token: string): boolean {
  if (Array.isArray(container)) return /^(0|[1-9][0-9]*)$/.test(token) && Number(token) < container.length;
  return Object.prototype.hasOwnProperty.call(container, token);
}

/** The container holding the pointer's last token, which must exist. */
function parentOf(doc: unknown, tokens: string[]): Container {
  let at: unknown = doc;
  for (const [i, t] of tokens.slice(0, -1).entries()) {
    if (!isContainer(at) || !has(at, t)) throw new Error(`/${tokens.slice(0, i + 1).join('/')} does not exist`);
    at = Array.isArray(at) ? at[Number(t)] : at[t];
  }
  if (!isContainer(at)) throw new Error(`the parent of the path is not an object or array`);
  return at;
}

function get(doc: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (!has(parent, last)) throw new Error('the path does not exist');
  return Array.isArray(parent) ? parent[Number(last)] : parent[last];
}

/** Adds (or, on an object, sets) the value; returns the new document (which differs only when the path is ""). */
function add(doc: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent, true), 0, value);
  else parent[last] = value;
  return doc;
}

function remove(doc: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) throw new Error('the whole document cannot be removed');
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (!has(parent, last)) throw new Error('the path does not exist');
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
  return doc;
}

function replace(doc: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (!has(parent, last)) throw new Error('the path does not exist');
  if (Array.isArray(parent)) parent[Number(last)] = value;
  else parent[last] = value;
  return doc;
}

/** Applies RFC 6902 operations to a copy of the document. Throws JsonPatchTestFailed for a failing `test`, JsonPatchError for anything else. */
export function applyJsonPatch(doc: unknown, ops: JsonPatchOperation[]): unknown {
  let out: unknown = structuredClone(doc);
  for (const [index, op] of ops.entries()) {
    try {
      const path = parsePointer(op.path);
      switch (op.op) {
        case 'add':
          out = add(out, path, structuredClone(op.value));
          break;
        case 'remove':
          out = remove(out, path);
          break;
        case 'replace':
          out = replace(out, path, structuredClone(op.value));
          break;
        case 'move': {
          const from = parsePointer(requireFrom(op));
          const value = get(out, from);
          if (op.path !== op.from) {
            if (op.path.startsWith(`${op.from}/`)) throw new Error('a value cannot be moved into one of its own children');
            out = add(remove(out, from), path, value);
          }
          break;
        }
        case 'copy':
          out = add(out, path, structuredClone(get(out, parsePointer(requireFrom(op)))));
          break;
        case 'test': {
          let actual: unknown;
          try {
            actual = get(out, path);
          } catch {
            throw new JsonPatchTestFailed(op.path);
          }
          if (!isDeepStrictEqual(actual, op.value)) throw new JsonPatchTestFailed(op.path);
          break;
        }
        default:
          throw new Error(`unknown op "${String((op as { op: unknown }).op)}" (use add, remove, replace, move, copy or test)`);
      }
    } catch (e) {
      if (e instanceof JsonPatchTestFailed) throw e;
      throw new JsonPatchError(index, op, (e as Error).message);
    }
  }
  return out;
}

function requireFrom(op: JsonPatchOperation): string {
  if (typeof op.from !== 'string') throw new Error(`"${op.op}" needs a "from" pointer`);
  return op.from;
}

/** RFC 7386: objects merge key by key, `null` removes a key, anything else (arrays too) replaces. Returns a new document. */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  return merge(structuredClone(doc), patch);
}

function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = merge(out[key], value);
  }
  return out;
}
