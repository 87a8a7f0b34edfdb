import type { DirMeta } from './tree';

/**
 * The snapshot manifest (`snapshots/<id>`): who captured what, when, and the
 * roots from which every blob of the snapshot is reached. It is written last
 * and once; a snapshot exists exactly when its manifest does.
 */

export const MANIFEST_VERSION = 1;

export interface SnapshotSummary {
  id: string;
  time: string;
  cluster: string;
  scope: Record<string, unknown>;
  tags: string[];
  counts: { resources: number; volumes: number; files: number; data: number };
  /** bytes: logical size captured; added: plaintext bytes of blobs new to the repository. */
  sizes: { bytes: number; added: number };
  durationMs: number;
  warnings: string[];
}

export interface VolumeRoot {
  namespace: string;
  pvc: string;
  storageClass?: string;
  capacity?: string;
  /** Tree blob id of the volume's root directory. */
  tree: string;
  /** Attributes of the root directory itself. */
  root: DirMeta;
  files: number;
  bytes: number;
  /** The earlier snapshot whose unchanged files this volume took without reading them, and how many. */
  parent?: { snapshot: string; files: number; bytes: number };
}

export interface DataRoot {
  name: string;
  chunks: string[];
  bytes: number;
  info?: Record<string, unknown>;
}

export interface SnapshotManifest extends SnapshotSummary {
  version: number;
  host?: string;
  user?: string;
  toolVersion?: string;
  /** Name of the catalog file (same as the snapshot id). */
  catalog: string;
  volumes: VolumeRoot[];
  data: DataRoot[];
}

export function encodeManifest(m: SnapshotManifest): Buffer {
  return Buffer.from(JSON.stringify(m));
}

export function decodeManifest(data: Buffer, name: string): SnapshotManifest {
  let m: SnapshotManifest;
  try {
    m = JSON.parse(data.toString('utf8')) as SnapshotManifest;
  } catch {
    throw new Error(`snapshot manifest ${name} is not valid JSON: the repository is damaged (run "lifeboat repo verify")`);
  }
  if (!m || typeof m !== 'object' || typeof m.time !== 'string' || !Array.isArray(m.volumes) || !Array.isArray(m.data)) {
    throw new Error(`snapshot manifest ${name} is incomplete: the repository is damaged (run "lifeboat repo verify")`);
  }
  if (m.version > MANIFEST_VERSION) {
    throw new Error(`snapshot ${name} has manifest version ${m.version}; this lifeboat reads up to ${MANIFEST_VERSION}: upgrade lifeboat`);
  }
  m.id = name;
  return m;
}

export function summaryOf(m: SnapshotManifest): SnapshotSummary {
  return {
    id: m.id,
    time: m.time,
    cluster: m.cluster,
    scope: m.scope,
    tags: m.tags,
    counts: m.counts,
    sizes: m.sizes,
    durationMs: m.durationMs,
    warnings: m.warnings,
  };
}
