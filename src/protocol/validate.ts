/**
 * Checks for values that arrive from another process or a webview, before
 * any of it is used. Each check names the field it rejects by its path in
 * the message ("request.scope.namespaces[1]"), so a client bug shows where
 * it is. Unknown fields are rejected too: a misspelt optional field
 * ("namespace" for "namespaces") would otherwise be dropped silently and
 * widen what a job does.
 */

export class InvalidParamsError extends Error {
  constructor(
    /** Path of the offending field, "" for the params themselves. */
    readonly field: string,
    problem: string,
  ) {
    super(`${field || 'params'}: ${problem}`);
    this.name = 'InvalidParamsError';
  }
}

export type Fields = Record<string, unknown>;

/** The type of a rejected value, never the value: the field may hold a secret. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** A plain object with only the given keys. */
export function object(value: unknown, path: string, allowed: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidParamsError(path, `must be an object, not ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new InvalidParamsError(join(path, key), `unknown field (expected one of ${allowed.join(', ')})`);
  }
  return value as Fields;
}

export function string(parent: Fields, key: string, path: string, options: { nonEmpty?: boolean; max?: number } = {}): string {
  const value = parent[key];
  const at = join(path, key);
  if (typeof value !== 'string') throw new InvalidParamsError(at, value === undefined ? 'is required' : `must be a string, not ${describe(value)}`);
  if (options.nonEmpty !== false && value.trim() === '') throw new InvalidParamsError(at, 'must not be empty');
  if (value.length > (options.max ?? 4096)) throw new InvalidParamsError(at, `is longer than ${options.max ?? 4096} characters`);
  return value;
}

export function optionalString(parent: Fields, key: string, path: string, options: { nonEmpty?: boolean; max?: number } = {}): string | undefined {
  return parent[key] === undefined ? undefined : string(parent, key, path, options);
}

export function optionalBoolean(parent: Fields, key: string, path: string): boolean | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidParamsError(join(path, key), `must be true or false, not ${describe(value)}`);
  return value;
}

export function integer(parent: Fields, key: string, path: string, range: { min: number; max: number }): number {
  const value = parent[key];
  const at = join(path, key);
  if (value === undefined) throw new InvalidParamsError(at, 'is required');
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new InvalidParamsError(at, `must be a whole number, not ${describe(value)}`);
  if (value < range.min || value > range.max) throw new InvalidParamsError(at, `must be between ${range.min} and ${range.max}`);
  return value;
}

export function optionalInteger(parent: Fields, key: string, path: string, range: { min: number; max: number }): number | undefined {
  return parent[key] === undefined ? undefined : integer(parent, key, path, range);
}

export function optionalStringList(parent: Fields, key: string, path: string, options: { max?: number } = {}): string[] | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  const at = join(path, key);
  if (!Array.isArray(value)) throw new InvalidParamsError(at, `must be an array of strings, not ${describe(value)}`);
  if (value.length > (options.max ?? 10_000)) throw new InvalidParamsError(at, `has more than ${options.max ?? 10_000} entries`);
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string' || item.trim() === '') throw new InvalidParamsError(`${at}[${i}]`, `must be a non-empty string, not ${describe(item)}`);
    return item;
  });
}

/** Copies the defined fields only, so validated params carry no explicit `undefined`s. */
export function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}
