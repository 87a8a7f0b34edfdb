import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { restoreToDirectory } from '../../engine/repo/localRestore';
import { latestSnapshotWithVolume } from '../../engine/repo/parentTree';
import { listVolumeFiles, openData, openFile, readManifest, resolveSnapshotId } from '../../engine/repo/snapshotReader';
import { SnapshotWriter, type StoredVolume } from '../../engine/repo/snapshotWriter';
import { ExitCode, UsageError } from '../cli';
import { emit, formatBytes, formatDuration, formatTime, notice, table } from '../output';
import type { CliCommand } from './index';
import { cancellable, CancelledError, parseCommandArgs, parseVolume, REPO_USAGE, runCommand, withRepository } from './repoAccess';

/** Moving files between a local directory and a snapshot's volume, and reading one file. */

const cat: CliCommand = {
  name: 'repo cat',
  summary: "Write one file of a snapshot's volume, or one of its data streams, to stdout",
  usage: `SNAPSHOT --volume NAMESPACE/PVC --path /PATH/IN/VOLUME --repo …
       SNAPSHOT --data NAME --repo …

  SNAPSHOT     a snapshot id, a unique prefix of one, or "latest"
  --data NAME  a data stream stored with the snapshot, byte for byte:
               "etcd" is an etcd snapshot file, for
               "etcdctl snapshot restore FILE"
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(
      args,
      { volume: { type: 'string' }, path: { type: 'string' }, data: { type: 'string' } },
      { min: 1, max: 1, names: 'SNAPSHOT' },
    );
    const data = values.data as string | undefined;
    if (data !== undefined) {
      if (values.volume !== undefined || values.path !== undefined) throw new UsageError('--data excludes --volume and --path: give one form');
      if (!data) throw new UsageError('missing the NAME of --data NAME (such as "etcd")');
    }
    const volume = data === undefined ? parseVolume(values.volume as string | undefined) : undefined;
    if (data === undefined && !values.path) throw new UsageError('missing --path /PATH/IN/VOLUME (or --data NAME for a data stream)');
    return runCommand('repo cat', format, () =>
      withRepository(values, async (repo) => {
        const stream =
          data !== undefined ? await openData(repo, positionals[0], data) : await openFile(repo, positionals[0], volume!, values.path as string);
        try {
          await pipeline(stream, process.stdout);
        } catch (err) {
          // The reader went away (| head): not a failure of ours.
          if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
        }
        return ExitCode.ok;
      }),
    );
  },
};

/** The tail of a child's stderr, for error messages. */
function stderrTail(child: ReturnType<typeof spawn>): () => string {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    text = (text + d.toString('utf8')).slice(-2000);
  });
  return () => text.trim();
}

const backupDir: CliCommand = {
  name: 'repo backup-dir',
  summary: 'Capture a local directory as a volume of a new snapshot',
  usage: `DIR --cluster NAME --volume NAMESPACE/PVC [--tag TAG]... [--parent SNAPSHOT | --no-parent] --repo … [--output json]

  Reads DIR with the system tar (as a volume mover does) and stores it as
  the volume NAMESPACE/PVC of a snapshot of cluster NAME.

  --parent SNAPSHOT  take unchanged files from this snapshot instead of
                     reading them again (default: the newest snapshot of
                     cluster NAME that holds the volume). A file counts as
                     unchanged when its path, size, modification time
                     (whole seconds), mode, uid and gid are the same.
  --no-parent        read every file, for when content may have changed
                     without its size or modification time changing
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(
      args,
      {
        cluster: { type: 'string' },
        volume: { type: 'string' },
        tag: { type: 'string', multiple: true },
        parent: { type: 'string' },
        'no-parent': { type: 'boolean' },
      },
      { min: 1, max: 1, names: 'DIR to back up' },
    );
    if (values.parent !== undefined && values['no-parent'] === true) {
      throw new UsageError('--parent and --no-parent exclude each other: give one of them');
    }
    const dir = positionals[0];
    const volume = parseVolume(values.volume as string | undefined);
    const cluster = values.cluster as string | undefined;
    if (!cluster) throw new UsageError('missing --cluster NAME');
    return runCommand('repo backup-dir', format, async () => {
      const st = await fs.promises.stat(dir).catch(() => undefined);
      if (!st?.isDirectory()) throw new Error(`${dir} is not a directory`);
      return withRepository(values, (repo) =>
        cancellable(async (signal) => {
          const parent =
            values['no-parent'] === true
              ? undefined
              : values.parent !== undefined
                ? await resolveSnapshotId(repo, values.parent as string)
                : await latestSnapshotWithVolume(repo, cluster, volume);
          if (parent && !(await readManifest(repo, parent)).volumes.some((v) => v.namespace === volume.namespace && v.pvc === volume.pvc)) {
            throw new Error(`parent snapshot ${parent.slice(0, 12)} has no volume ${volume.namespace}/${volume.pvc}: pick another with --parent, or use --no-parent`);
          }
          const writer = await SnapshotWriter.begin(repo, {
            cluster,
            scope: { volumes: [`${volume.namespace}/${volume.pvc}`] },
            tags: (values.tag as string[] | undefined) ?? [],
          }, { onNotice: notice });
          const child = spawn('tar', ['-cf', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
          const tail = stderrTail(child);
          const exited = new Promise<number>((resolve, reject) => {
            child.on('error', reject);
            child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
          });
          const onAbort = (): void => {
            child.kill('SIGTERM');
          };
          signal.addEventListener('abort', onAbort);
          try {
            let stored: StoredVolume | undefined;
            let storeError: unknown;
            try {
              stored = await writer.addVolume(volume, child.stdout!, { parent });
            } catch (err) {
              storeError = err;
            }
            const code = await exited;
            if (signal.aborted) throw new CancelledError();
            if (code >= 2 || (code !== 0 && storeError)) {
              throw new Error(`tar could not read ${dir} (exit ${code}): ${tail() || 'no message'}`);
            }
            if (storeError) throw storeError;
            // GNU tar exits 1 when files changed while being read: the copy may be inconsistent.
            if (code === 1) writer.warn(`tar reported files that changed while being read: ${tail()}`);
            const summary = await writer.commit();
            const reused = { parent: parent ?? null, files: stored!.reused.files, bytes: stored!.reused.bytes };
            emit(format, { ...summary, reused }, () =>
              [
                `snapshot ${summary.id.slice(0, 12)} saved: ${stored!.files} file(s), ${formatBytes(stored!.bytes)} ` +
                  `(${formatBytes(summary.sizes.added)} new) in ${formatDuration(summary.durationMs)}`,
                parent
                  ? `${reused.files} unchanged file(s) (${formatBytes(reused.bytes)}) taken from snapshot ${parent.slice(0, 12)} without reading them`
                  : 'no parent snapshot: every file was read',
                ...summary.warnings.map((w) => `warning: ${w}`),
              ].join('\n'),
            );
            return ExitCode.ok;
          } catch (err) {
            await writer.abort();
            child.kill('SIGTERM');
            throw err;
          } finally {
            signal.removeEventListener('abort', onAbort);
          }
        }),
      );
    });
  },
};

const restoreDir: CliCommand = {
  name: 'repo restore-dir',
  summary: "Restore a snapshot's volume (or a directory or file of it) into a local directory",
  usage: `SNAPSHOT --volume NAMESPACE/PVC --to DIR [--path /SUB/PATH] --repo … [--output json]

  Never writes outside DIR: unsafe names are skipped, existing symlinks are
  not followed, and symlinks pointing outside DIR are not created (they are
  listed, and the exit status is 3).
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(
      args,
      { volume: { type: 'string' }, to: { type: 'string' }, path: { type: 'string' } },
      { min: 1, max: 1, names: 'SNAPSHOT' },
    );
    const volume = parseVolume(values.volume as string | undefined);
    if (!values.to) throw new UsageError('missing --to DIR');
    return runCommand('repo restore-dir', format, () =>
      withRepository(values, async (repo) => {
        const result = await restoreToDirectory(repo, positionals[0], volume, values.to as string, { subPath: values.path as string | undefined });
        for (const s of result.skipped) notice(`not restored: ${s.path}: ${s.reason}`);
        emit(format, result, () =>
          `restored ${result.files} file(s) (${formatBytes(result.bytes)}), ${result.dirs} dir(s), ` +
          `${result.symlinks} symlink(s), ${result.hardlinks} hard link(s) into ${values.to}` +
          (result.skipped.length ? `; ${result.skipped.length} entr(ies) skipped` : ''),
        );
        return result.skipped.length ? ExitCode.problems : ExitCode.ok;
      }),
    );
  },
};

const ls: CliCommand = {
  name: 'repo ls',
  summary: "List a directory of a snapshot's volume",
  usage: `SNAPSHOT --volume NAMESPACE/PVC [--path /DIR] --repo … [--output json]

  SNAPSHOT   a snapshot id, a unique prefix of one, or "latest"
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(
      args,
      { volume: { type: 'string' }, path: { type: 'string' } },
      { min: 1, max: 1, names: 'SNAPSHOT' },
    );
    const volume = parseVolume(values.volume as string | undefined);
    return runCommand('repo ls', format, () =>
      withRepository(values, async (repo) => {
        const files = await listVolumeFiles(repo, positionals[0], volume, (values.path as string | undefined) ?? '/');
        emit(format, files, () =>
          table(
            ['MODE', 'SIZE', 'MODIFIED (UTC)', 'PATH'],
            files.map((f) => [
              (f.type === 'dir' ? 'd' : f.type === 'symlink' ? 'l' : f.type === 'hardlink' ? 'h' : '-') + f.mode.toString(8).padStart(4, '0'),
              String(f.size),
              formatTime(f.mtime),
              f.path + (f.target !== undefined ? ` -> ${f.target}` : ''),
            ]),
          ),
        );
        return ExitCode.ok;
      }),
    );
  },
};

export const repoFileCommands: CliCommand[] = [cat, ls, backupDir, restoreDir];
