/** One subcommand of the `lifeboat` CLI. */
export interface CliCommand {
  /** Words that select it, e.g. "repo init". */
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit status (see ExitCode in ../cli). */
  run(args: string[]): Promise<number>;
}

import { captureCommands } from './capture';
import { planCommands } from './plan';
import { repoCommands } from './repo';
import { repoFileCommands } from './repoFiles';
import { restoreCommands } from './restore';
import { restoreFileCommands } from './restoreFile';
import { snapshotCommands } from './snapshots';

/** Every command the CLI knows; feature modules add theirs here. */
export const commands: CliCommand[] = [
  ...captureCommands,
  ...planCommands,
  ...restoreCommands,
  ...restoreFileCommands,
  ...repoCommands,
  ...repoFileCommands,
  ...snapshotCommands,
];
