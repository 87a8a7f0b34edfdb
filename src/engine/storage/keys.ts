/**
 * Object keys are the repository's own relative paths. Both backends refuse
 * anything that could escape the repository root or collide with a backend's
 * private files, so a bad key is a programming error caught before any I/O.
 */

/** Names starting with this are a local writer's unfinished files. */
export const TEMP_PREFIX = '.tmp-';

export class InvalidKeyError extends Error {
  constructor(readonly key: string, reason: string) {
    super(`invalid storage key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'empty');
  if (key.length > 1024) throw new InvalidKeyError(key.slice(0, 64) + '…', 'longer than 1024 characters');
  if (key.includes('\0')) throw new InvalidKeyError(key, 'contains a NUL character');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'contains a backslash; keys use "/"');
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidKeyError(key, 'has an empty path segment (leading, trailing or double "/")');
    if (segment === '.' || segment === '..') throw new InvalidKeyError(key, `has a "${segment}" segment`);
    if (segment.startsWith(TEMP_PREFIX)) {
      throw new InvalidKeyError(key, `has a segment starting with "${TEMP_PREFIX}", reserved for unfinished writes`);
    }
  }
}

/** A list prefix may end anywhere (mid-segment or after "/"), but may not escape. */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  if (prefix.includes('\0') || prefix.includes('\\')) throw new InvalidKeyError(prefix, 'is not a valid list prefix');
  const segments = prefix.split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '' && !last) throw new InvalidKeyError(prefix, 'has an empty path segment');
    if (segment === '..' || (segment === '.' && !last)) throw new InvalidKeyError(prefix, `has a "${segment}" segment`);
  });
}

export function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new TypeError(`invalid byte range: offset ${offset}, length ${length} (whole numbers ≥ 0 expected)`);
  }
}
