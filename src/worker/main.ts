import { runCli } from './cli';
import { serveIpc } from './ipc';

// The same bundle is the `lifeboat` command line and the worker process the
// extension forks; the IPC server is chosen when the parent opened a channel
// and gave no command (or --ipc).
const argv = process.argv.slice(2);

// Deprecation notices from bundled libraries (grpc-js names an etcd IP
// address as a TLS server name, DEP0123) say nothing a user can act on and
// would interleave with progress output.
(process as { noDeprecation?: boolean }).noDeprecation = true;
const ipcWanted = argv.length === 0 || (argv.length === 1 && argv[0] === '--ipc');

if (process.send && ipcWanted) {
  serveIpc();
} else if (argv[0] === '--ipc') {
  process.stderr.write('lifeboat --ipc: no IPC channel: this mode is for the VS Code extension, which forks the worker with one\n');
  process.exitCode = 2;
} else {
  // A parent that forked the command line with a channel must not keep it running after the command is done.
  process.channel?.unref();
  runCli(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`lifeboat: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
