import type { Logger } from '../../engine/log';
import type { ProgressListener } from '../../engine/progress';

/**
 * What a job gets from whoever runs it (the IPC server, a test): the signal
 * that cancels it, and where its logs, progress and warnings go. A job does
 * not know which transport carries them.
 */
export interface JobContext {
  signal: AbortSignal;
  log: Logger;
  onProgress: ProgressListener;
  /** Something the user should see while the job goes on. */
  warn(message: string): void;
}
