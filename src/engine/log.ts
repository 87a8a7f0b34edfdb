/**
 * Structured logs of engine jobs. Fields are data, never secret values:
 * passphrases, tokens and Secret contents are not passed to a logger.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  level: LogLevel;
  message: string;
  time: string;
  fields?: Record<string, unknown>;
}

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = { log: () => undefined };

export function logTo(sink: (record: LogRecord) => void): Logger {
  return { log: (level, message, fields) => sink({ level, message, time: new Date().toISOString(), ...(fields ? { fields } : {}) }) };
}
