/**
 * Where the `lifeboat` CLI gets passphrases: an environment variable (for
 * scripts and CronJobs), else a prompt that does not echo when a person is at
 * a terminal, else a clear error. A passphrase is never printed or logged.
 */

export const PASSWORD_ENV = 'LIFEBOAT_PASSWORD';
export const NEW_PASSWORD_ENV = 'LIFEBOAT_NEW_PASSWORD';

export class PassphraseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PassphraseUnavailableError';
  }
}

/** The user pressed Ctrl-C at a prompt. */
export class PromptCancelledError extends Error {
  constructor() {
    super('cancelled at the passphrase prompt');
    this.name = 'PromptCancelledError';
  }
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    let value = '';
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    const done = (err?: Error): void => {
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new PromptCancelledError());
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export interface PassphraseRequest {
  /** Environment variable consulted first. */
  env: string;
  /** What the prompt asks for, e.g. "passphrase for /backups/repo". */
  purpose: string;
  /** Ask twice and compare (when choosing a new passphrase). */
  confirm?: boolean;
}

export async function readPassphrase(request: PassphraseRequest): Promise<string> {
  const fromEnv = process.env[request.env];
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new PassphraseUnavailableError(`${request.env} is set but empty: set it to the passphrase`);
    return fromEnv;
  }
  if (!process.stdin.isTTY) {
    throw new PassphraseUnavailableError(
      `need ${request.purpose}: set the environment variable ${request.env} (no terminal to ask on)`,
    );
  }
  const first = await promptHidden(`Enter ${request.purpose}: `);
  if (!first) throw new PassphraseUnavailableError('the passphrase is empty: enter a passphrase');
  if (request.confirm) {
    const second = await promptHidden(`Repeat ${request.purpose}: `);
    if (second !== first) throw new PassphraseUnavailableError('the two passphrases differ: nothing was changed');
  }
  return first;
}
