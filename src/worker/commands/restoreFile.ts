import * as path from 'node:path';
import { restoreFile } from '../../engine/restore';
import type { RestoreFileRequest } from '../../engine/restore/types';
import { ExitCode, UsageError } from '../cli';
import { emit, formatBytes } from '../output';
import type { CliCommand } from './index';
import { restoreConsole } from './plan';
import { cancellable, parseCommandArgs, parseVolume, REPO_USAGE, runCommand, withRepository, type Parsed } from './repoAccess';

/**
 * `lifeboat restore-file`: one file or directory of a snapshot's volume,
 * into a local directory or into a PVC of a cluster (through a mover pod).
 */

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * `pvc:[CONTEXT/]NAMESPACE/NAME[:PATH]` or a directory. The path, when
 * given, starts with "/" right after a colon; context names may hold
 * colons and slashes themselves (cloud providers' ARNs), so the namespace
 * and name are the last two segments and the context everything before.
 */
export function parseRestoreTarget(value: string, values: Parsed['values']): RestoreFileRequest['to'] {
  if (!value.startsWith('pvc:')) {
    if (values.context !== undefined) throw new UsageError('--context goes with a --to pvc:… target, not a directory');
    return { kind: 'dir', directory: path.resolve(value) };
  }
  const spec = value.slice('pvc:'.length);
  const at = spec.indexOf(':/');
  const where = at < 0 ? spec : spec.slice(0, at);
  const targetPath = at < 0 ? undefined : spec.slice(at + 1);
  const parts = where.split('/');
  const usage = `--to takes pvc:[CONTEXT/]NAMESPACE/NAME[:/PATH] or a directory, not "${value}"`;
  if (parts.length < 2) throw new UsageError(usage);
  const name = parts.pop()!;
  const namespace = parts.pop()!;
  if (!NAME_RE.test(namespace) || !NAME_RE.test(name)) throw new UsageError(usage);
  const inSpec = parts.length > 0 ? parts.join('/') : undefined;
  const flag = values.context as string | undefined;
  if (inSpec !== undefined && flag !== undefined && inSpec !== flag) {
    throw new UsageError(`--to names context ${inSpec} and --context ${flag}: give the context once`);
  }
  if (targetPath !== undefined && targetPath.split('/').includes('..')) throw new UsageError('the target path must not hold ".." segments');
  const to: RestoreFileRequest['to'] = {
    kind: 'pvc',
    namespace,
    pvc: name,
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig as string } : {}),
    ...((inSpec ?? flag) !== undefined ? { context: (inSpec ?? flag)! } : {}),
    ...(targetPath !== undefined ? { targetPath } : {}),
  };
  return to;
}

const restoreFileCommand: CliCommand = {
  name: 'restore-file',
  summary: "Restore a file or directory of a snapshot's volume into a local directory or a PVC",
  usage: `SNAPSHOT NAMESPACE/PVC PATH --to DIR|pvc:[CONTEXT/]NAMESPACE/NAME[:/PATH] [--context NAME] [--kubeconfig FILE] --repo …

  SNAPSHOT            id, unique id prefix, or "latest"
  NAMESPACE/PVC       the volume in the snapshot
  PATH                file or directory inside it ("/" for all of it)
  --to DIR            write under this local directory
  --to pvc:…          write into that PVC (through a mover pod), at PATH or at
                      the path given after a colon
  --context NAME      context of the target PVC (default: the current one)
  --kubeconfig FILE   default: $KUBECONFIG or ~/.kube/config
  --mover-image IMAGE image of the pod that writes the data (needs tar)
  -v, --verbose       log each step to stderr
  ${REPO_USAGE}

Links that would point out of the target are not written; they are listed.

Exit status: 0 restored, 1 failed, 2 bad command line, 3 restored with entries skipped, 130 cancelled.`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(
      args,
      { to: { type: 'string' }, context: { type: 'string' }, kubeconfig: { type: 'string' }, 'mover-image': { type: 'string' }, verbose: { type: 'boolean', short: 'v' } },
      { min: 3, max: 3, names: 'SNAPSHOT, NAMESPACE/PVC and PATH' },
    );
    const [snapshot, volumeArg, filePath] = positionals;
    let volume;
    try {
      volume = parseVolume(volumeArg);
    } catch {
      throw new UsageError(`the volume must be NAMESPACE/PVC (Kubernetes names), not "${volumeArg}"`);
    }
    if (!filePath.startsWith('/')) throw new UsageError(`PATH is a path inside the volume starting with "/", not "${filePath}"`);
    if (filePath.split('/').includes('..')) throw new UsageError('PATH must not hold ".." segments');
    const target = values.to as string | undefined;
    if (!target) throw new UsageError('missing --to DIR or --to pvc:[CONTEXT/]NAMESPACE/NAME');
    const request: RestoreFileRequest = {
      snapshot,
      volume,
      path: filePath,
      to: parseRestoreTarget(target, values),
      ...(values['mover-image'] !== undefined ? { moverImage: values['mover-image'] as string } : {}),
    };
    return runCommand('restore-file', format, () =>
      withRepository(values, (repo) =>
        cancellable(async (signal) => {
          const { log, display, onProgress } = restoreConsole(values, false);
          let result;
          try {
            result = await restoreFile(repo, request, { signal, log, onProgress });
          } finally {
            display.done();
          }
          const where = request.to.kind === 'dir' ? request.to.directory : `PVC ${request.to.namespace}/${request.to.pvc}${request.to.context ? ` of ${request.to.context}` : ''}`;
          emit(format, result, () => {
            const lines = [`restored ${result.files} file(s), ${result.dirs} dir(s), ${formatBytes(result.bytes)} of ${volume.namespace}/${volume.pvc}:${filePath} into ${where}`];
            if (result.skipped.length) lines.push(`skipped ${result.skipped.length}:`, ...result.skipped.map((s) => `  ${s.path}: ${s.reason}`));
            return lines.join('\n');
          });
          return result.skipped.length ? ExitCode.problems : ExitCode.ok;
        }),
      ),
    );
  },
};

export const restoreFileCommands: CliCommand[] = [restoreFileCommand];
