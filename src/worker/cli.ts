import { version } from '../../package.json';
import { commands, type CliCommand } from './commands';

/** Exit statuses of the `lifeboat` command, documented in the README. */
export const ExitCode = {
  ok: 0,
  /** The operation failed (the message says why). */
  failure: 1,
  /** The command line was wrong: unknown command, missing or bad option. */
  usage: 2,
  /** The operation completed but found problems (e.g. verify found damage). */
  problems: 3,
  /** Interrupted by the user (SIGINT) or cancelled. */
  cancelled: 130,
} as const;

export class UsageError extends Error {}

function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `lifeboat ${version} — Kubernetes backup and restore`,
    '',
    'Usage: lifeboat COMMAND [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run "lifeboat COMMAND --help" for the options of a command.',
  ].join('\n');
}

/** Finds the longest command name that prefixes argv ("repo passphrase add"). */
function match(argv: string[]): { command: CliCommand; rest: string[] } | undefined {
  let best: { command: CliCommand; rest: string[] } | undefined;
  for (const command of commands) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.command.name.split(' ').length)) {
      best = { command, rest: argv.slice(words.length) };
    }
  }
  return best;
}

export async function runCli(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(helpText() + '\n');
    return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    process.stdout.write(`${version}\n`);
    return ExitCode.ok;
  }
  const found = match(argv);
  if (!found) {
    process.stderr.write(`lifeboat: unknown command "${argv.join(' ')}". Run "lifeboat --help" for the list.\n`);
    return ExitCode.usage;
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    process.stdout.write(`Usage: lifeboat ${found.command.name} ${found.command.usage}\n\n${found.command.summary}\n`);
    return ExitCode.ok;
  }
  try {
    return await found.command.run(found.rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`lifeboat ${found.command.name}: ${err.message}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
}
