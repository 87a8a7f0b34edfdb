/**
 * Secret values kept out of plans: a plan is shown in the editor, printed
 * by the CLI and sent across process boundaries as JSON, so a Secret's
 * `data` and `stringData` never reach it. What a reader still needs — which
 * keys exist and which of them a restore would change — survives: every
 * value becomes REDACTED, and on the restore side a value whose bytes differ
 * from the live one becomes REDACTED_CHANGED, so the diff shows that line
 * as changed without showing either value.
 */
import type { KObject } from '../kube/types';

export const REDACTED = '<redacted>';
export const REDACTED_CHANGED = '<redacted: changed>';

/** kubectl's copy of the last applied object: on a Secret it repeats every value. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function isSecret(obj: { apiVersion?: string; kind?: string } | undefined): boolean {
  return obj?.kind === 'Secret' && (obj.apiVersion === 'v1' || obj.apiVersion === undefined);
}

/** A Secret's values as bytes by key: `data` is base64, `stringData` plain text and wins, as the API server merges them. */
function secretBytes(obj: KObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const data = obj.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object') for (const [k, v] of Object.entries(data)) out.set(k, Buffer.from(typeof v === 'string' ? v : '', 'base64'));
  const stringData = obj.stringData as Record<string, unknown> | undefined;
  if (stringData && typeof stringData === 'object') for (const [k, v] of Object.entries(stringData)) out.set(k, Buffer.from(typeof v === 'string' ? v : String(v), 'utf8'));
  return out;
}

function withoutLastApplied(metadata: KObject['metadata']): KObject['metadata'] {
  const annotations = metadata?.annotations;
  if (!annotations || !(LAST_APPLIED in annotations)) return metadata;
  const rest = { ...annotations };
  delete rest[LAST_APPLIED];
  return { ...metadata, annotations: rest };
}

function redactValues(values: unknown, changed: (key: string) => boolean): Record<string, string> | undefined {
  if (!values || typeof values !== 'object') return undefined;
  return Object.fromEntries(Object.keys(values).map((k) => [k, changed(k) ? REDACTED_CHANGED : REDACTED]));
}

function redactOne(obj: KObject, changed: (key: string) => boolean): KObject {
  const copy: KObject = { ...obj, metadata: withoutLastApplied(obj.metadata) };
  if ('data' in obj) copy.data = redactValues(obj.data, changed);
  if ('stringData' in obj) copy.stringData = redactValues(obj.stringData, changed);
  if (copy.data === undefined) delete copy.data;
  if (copy.stringData === undefined) delete copy.stringData;
  return copy;
}

/**
 * The live object and the restore's version of it, with Secret values
 * replaced (other kinds are returned as given). A key of `desired` whose
 * bytes differ from the same key on `live` reads REDACTED_CHANGED; a key
 * `live` does not have reads REDACTED (the diff already shows it added).
 */
export function redactPair<T extends KObject | undefined, U extends KObject | undefined>(live: T, desired: U): { live: T; desired: U } {
  const secret = isSecret(live) || isSecret(desired);
  if (!secret) return { live, desired };
  const liveBytes = live ? secretBytes(live) : new Map<string, Buffer>();
  const desiredBytes = desired ? secretBytes(desired) : new Map<string, Buffer>();
  const changed = (key: string): boolean => {
    const before = liveBytes.get(key);
    const after = desiredBytes.get(key);
    return before !== undefined && after !== undefined && !before.equals(after);
  };
  return {
    live: (live ? redactOne(live, () => false) : live) as T,
    desired: (desired ? redactOne(desired, changed) : desired) as U,
  };
}

/** One object with its Secret values replaced (for a create, or a log line). */
export function redactObject(obj: KObject): KObject {
  return isSecret(obj) ? redactOne(obj, () => false) : obj;
}
