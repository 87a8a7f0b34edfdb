import { runCli } from './cli';

// The same bundle is the `lifeboat` command line and the worker process the
// extension forks; the IPC server is chosen when the parent opened a channel.
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lifeboat: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
