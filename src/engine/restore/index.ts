/**
 * The restore engine's public surface: plan a restore against a target,
 * run it (plan → apply → verify), restore single files, and the profiles
 * that shape what is written. The CLI, the worker and the extension import
 * from here.
 */
export { planRestore, isProductionContext, type PlanOptions, type RestoreOptions } from './plan';
export { runRestore } from './restore';
export { restoreFile } from './restoreFile';
export { loadProfile, listProfiles, BUILTIN_PROFILES } from './profile';
export { selectFromSnapshot, type SnapshotSelection } from './select';
export * from './types';
