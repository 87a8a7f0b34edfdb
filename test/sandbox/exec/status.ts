/**
 * How the end of an exec is reported on the error channel/stream: from
 * v4 on a metav1.Status (Success, or Failure with reason NonZeroExitCode
 * and the code as cause), before that a plain message on failure only.
 */
export function exitStatus(protocol: string, command: string[], code: number | null, signal: NodeJS.Signals | null): string | undefined {
  const exitCode = code ?? (signal ? 128 + (SIGNALS[signal] ?? 9) : 1);
  const message = `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`;
  const structured = protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
  if (!structured) return exitCode === 0 ? undefined : message;
  if (exitCode === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };
