/** REST paths of resources: /api/v1/... for the core group, /apis/GROUP/VERSION/... for the rest. */
import type { ApiResource } from './types';

export function collectionPath(r: ApiResource, namespace?: string): string {
  const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${ns}/${r.resource}`;
}

export function objectPath(r: ApiResource, name: string, namespace?: string, subresource?: string): string {
  if (!name) throw new Error(`an object of ${r.resource} needs a name`);
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}
