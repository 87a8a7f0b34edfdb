import * as vscode from 'vscode';

/** Snapshots came or went in a repository (a capture finished, one was deleted): views showing them refresh. */
export interface SnapshotsChanged {
  /** The repository's location, as configured. */
  location: string;
}

const emitter = new vscode.EventEmitter<SnapshotsChanged>();

export const onSnapshotsChanged = emitter.event;

export function fireSnapshotsChanged(change: SnapshotsChanged): void {
  emitter.fire(change);
}
