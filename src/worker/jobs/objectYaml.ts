import { stringify } from 'yaml';

/**
 * An object as the YAML a user reads in the editor. Secrets are never
 * shown: every value of `data` and `stringData` becomes `<redacted: N bytes>`,
 * and so does kubectl's last-applied annotation, which repeats them.
 */

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function placeholder(bytes: number): string {
  return `<redacted: ${bytes} bytes>`;
}

function isSecret(obj: Record<string, unknown>): boolean {
  return obj.kind === 'Secret' && (obj.apiVersion === 'v1' || obj.apiVersion === undefined);
}

/** A copy of a Secret with its values replaced by their sizes; other objects unchanged. */
export function redactSecret(obj: Record<string, unknown>): { object: Record<string, unknown>; redacted: boolean } {
  if (!isSecret(obj)) return { object: obj, redacted: false };
  const copy: Record<string, unknown> = { ...obj };
  const data = obj.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object') {
    copy.data = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, placeholder(typeof v === 'string' ? Buffer.from(v, 'base64').length : 0)]));
  }
  const stringData = obj.stringData as Record<string, unknown> | undefined;
  if (stringData && typeof stringData === 'object') {
    copy.stringData = Object.fromEntries(Object.entries(stringData).map(([k, v]) => [k, placeholder(typeof v === 'string' ? Buffer.byteLength(v) : 0)]));
  }
  const metadata = obj.metadata as Record<string, unknown> | undefined;
  const annotations = metadata?.annotations as Record<string, string> | undefined;
  if (metadata && annotations && typeof annotations[LAST_APPLIED] === 'string') {
    copy.metadata = { ...metadata, annotations: { ...annotations, [LAST_APPLIED]: placeholder(Buffer.byteLength(annotations[LAST_APPLIED])) } };
  }
  return { object: copy, redacted: true };
}

/** The object as YAML, a Secret redacted. Keys keep the API's order, as `kubectl get -o yaml` shows them. */
export function objectYaml(obj: object): { yaml: string; redacted: boolean } {
  const { object, redacted } = redactSecret(obj as Record<string, unknown>);
  return { yaml: stringify(object, { lineWidth: 0 }), redacted };
}
