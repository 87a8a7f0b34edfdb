/**
 * The repository's public surface: the blob store and, on top of it,
 * snapshots, locks, retention, prune and verify. Other parts of Lifeboat
 * import from here rather than from the individual modules.
 */
export * from './repository';
export { SnapshotWriter, type SnapshotMeta, type StoredVolume, type VolumeInfo } from './snapshotWriter';
export { latestSnapshotWithVolume } from './parentTree';
export {
  SnapshotNotFoundError,
  catalogFiles,
  deleteSnapshot,
  findSnapshot,
  listSnapshots,
  listVolumeFiles,
  openData,
  openFile,
  readCatalog,
  readManifest,
  readResource,
  resolveSnapshotId,
  volumeRoot,
  volumeTarStream,
  TAR_RECORD,
  type VolumeTarOptions,
  type VolumeFile,
  type VolumeRef,
} from './snapshotReader';
export type { SnapshotManifest, SnapshotSummary, VolumeRoot, DataRoot } from './snapshot';
export type { Catalog, CatalogData, CatalogFileLine, CatalogResource, CatalogVolume } from './catalog';
export { Lock, LockConflictError, acquireLock, listLocks, removeStaleLocks, type LockInfo, type LockOptions } from './lock';
export { applyRetention, type RetentionDecision, type RetentionPolicy, type RetentionResult } from './retention';
export { prune, type PruneOptions, type PruneReport } from './prune';
export { verify, type VerifyOptions, type VerifyProblem, type VerifyReport } from './verify';
export { restoreToDirectory, type LocalRestoreResult } from './localRestore';
export { TarFormatError } from './tar';
