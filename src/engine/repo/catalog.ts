/**
 * A snapshot's search catalog (`catalogs/<id>`): every object's identity,
 * labels, Lifeboat annotations, images and blob id, and every volume's file
 * paths, so listing and search never read the blobs themselves. The file
 * lists can be millions of lines, so they are stored as a data stream
 * (NDJSON, one `CatalogFile` per line) referenced from the catalog.
 */

export const CATALOG_VERSION = 1;

export interface CatalogResource {
  /** API group; "" for the core group. */
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  labels: Record<string, string>;
  /** Only the `lifeboat.dev/*` annotations. */
  annotations: Record<string, string>;
  /** Container images of a Pod or of a workload's pod template. */
  images: string[];
  blob: string;
  bytes: number;
}

export interface CatalogVolume {
  namespace: string;
  pvc: string;
  storageClass?: string;
  capacity?: string;
  files: number;
  bytes: number;
  /** Data chunks of the NDJSON file list. */
  fileList: string[];
}

export interface CatalogData {
  name: string;
  bytes: number;
  info?: Record<string, unknown>;
}

export interface Catalog {
  version: number;
  snapshot: string;
  resources: CatalogResource[];
  volumes: CatalogVolume[];
  data: CatalogData[];
}

/** One line of a volume's file list. `t` is absent for regular files. */
export interface CatalogFileLine {
  /** Path inside the volume, with a leading "/". */
  p: string;
  s: number;
  t?: 'd' | 'l' | 'h';
}

export function encodeCatalog(c: Catalog): Buffer {
  return Buffer.from(JSON.stringify(c));
}

export function decodeCatalog(data: Buffer, name: string): Catalog {
  let c: Catalog;
  try {
    c = JSON.parse(data.toString('utf8')) as Catalog;
  } catch {
    throw new Error(`catalog ${name} is not valid JSON: the repository is damaged (run "lifeboat repo verify")`);
  }
  if (!c || !Array.isArray(c.resources) || !Array.isArray(c.volumes)) {
    throw new Error(`catalog ${name} is incomplete: the repository is damaged (run "lifeboat repo verify")`);
  }
  if (c.version > CATALOG_VERSION) {
    throw new Error(`catalog ${name} has version ${c.version}; this lifeboat reads up to ${CATALOG_VERSION}: upgrade lifeboat`);
  }
  c.data ??= [];
  return c;
}

interface PodSpecLike {
  containers?: Array<{ image?: string }>;
  initContainers?: Array<{ image?: string }>;
  ephemeralContainers?: Array<{ image?: string }>;
}

/** Pod specs held by an object: its own (Pod), its template's, or a CronJob's job template's. */
function podSpecs(obj: any): PodSpecLike[] {
  const specs: PodSpecLike[] = [];
  const spec = obj?.spec;
  if (!spec || typeof spec !== 'object') return specs;
  if (Array.isArray(spec.containers)) specs.push(spec);
  if (spec.template?.spec) specs.push(spec.template.spec);
  if (spec.jobTemplate?.spec?.template?.spec) specs.push(spec.jobTemplate.spec.template.spec);
  return specs;
}

export function imagesOf(obj: unknown): string[] {
  const images = new Set<string>();
  for (const spec of podSpecs(obj)) {
    for (const list of [spec.containers, spec.initContainers, spec.ephemeralContainers]) {
      for (const c of list ?? []) if (typeof c?.image === 'string' && c.image) images.add(c.image);
    }
  }
  return [...images].sort();
}

export interface ResourceLike {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function catalogEntry(obj: ResourceLike, blob: string, bytes: number): CatalogResource {
  const { group, version } = splitApiVersion(obj.apiVersion);
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj.metadata.annotations ?? {})) {
    if (k.startsWith('lifeboat.dev/')) annotations[k] = v;
  }
  const entry: CatalogResource = {
    group,
    version,
    kind: obj.kind,
    name: obj.metadata.name!,
    labels: { ...(obj.metadata.labels ?? {}) },
    annotations,
    images: imagesOf(obj),
    blob,
    bytes,
  };
  if (obj.metadata.namespace) entry.namespace = obj.metadata.namespace;
  return entry;
}

/** Finds the catalog entries an object reference names; kind matches case-insensitively. */
export function matchResources(
  catalog: Catalog,
  ref: { group?: string; kind: string; namespace?: string; name: string },
): CatalogResource[] {
  const kind = ref.kind.toLowerCase();
  return catalog.resources.filter(
    (r) =>
      r.kind.toLowerCase() === kind &&
      r.name === ref.name &&
      (ref.group === undefined || r.group === ref.group) &&
      (ref.namespace === undefined ? true : (r.namespace ?? '') === ref.namespace),
  );
}

/** Object names by namespace ("" for cluster-scoped) and kind, sorted: what a snapshot holds, at a glance. */
export function contentsByNamespace(catalog: Pick<Catalog, 'resources'>): Record<string, Record<string, string[]>> {
  const contents: Record<string, Record<string, string[]>> = {};
  for (const r of catalog.resources) {
    const ns = r.namespace ?? '';
    contents[ns] ??= {};
    (contents[ns][r.kind] ??= []).push(r.name);
  }
  for (const kinds of Object.values(contents)) for (const names of Object.values(kinds)) names.sort();
  return contents;
}
