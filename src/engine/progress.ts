/**
 * Progress of a long job, the same shape in the CLI's progress bar, the
 * worker's notifications and VS Code's progress UI.
 */
export interface JobProgress {
  /** "discover", "resources", "volumes", "etcd", "commit", ... */
  phase: string;
  /** What is being worked on now: "shop/data-db-0". */
  current?: string;
  itemsDone?: number;
  itemsTotal?: number;
  bytesDone?: number;
  /** Unknown (undefined) while a volume's size is not known yet. */
  bytesTotal?: number;
  /** Bytes per second over the last few seconds. */
  rate?: number;
  etaSeconds?: number;
}

export type ProgressListener = (progress: JobProgress) => void;

/** Thrown when a job's AbortSignal fires; callers clean up and report "cancelled". */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
