import { contentsByNamespace } from '../../engine/repo/catalog';
import { acquireLock } from '../../engine/repo/lock';
import { deleteSnapshot, listSnapshots, readCatalog, readManifest, resolveSnapshotId } from '../../engine/repo/snapshotReader';
import { ExitCode } from '../cli';
import { emit, formatBytes, formatDuration, formatTime, notice, table } from '../output';
import type { CliCommand } from './index';
import { parseCommandArgs, REPO_USAGE, runCommand, withRepository } from './repoAccess';

/** Listing snapshots and showing what one holds. */

const snapshots: CliCommand = {
  name: 'snapshots',
  summary: 'List the snapshots of a repository, oldest first',
  usage: `[--cluster NAME] [--tag TAG] --repo … [--output json]

  --cluster NAME   only snapshots of this cluster
  --tag TAG        only snapshots with this tag
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, format } = parseCommandArgs(args, { cluster: { type: 'string' }, tag: { type: 'string' } }, { min: 0, max: 0, names: '' });
    return runCommand('snapshots', format, () =>
      withRepository(values, async (repo) => {
        const unreadable: string[] = [];
        const listed = await listSnapshots(repo, {
          onUnreadable: (u) => {
            unreadable.push(u.id);
            notice(`snapshot ${u.id.slice(0, 12)} cannot be read and is not listed: ${u.message}; run "lifeboat repo verify" for details`);
          },
        });
        const all = listed.filter(
          (s) => (!values.cluster || s.cluster === values.cluster) && (!values.tag || s.tags.includes(values.tag as string)),
        );
        emit(format, all, () =>
          all.length === 0
            ? 'no snapshots'
            : table(
                ['ID', 'TIME (UTC)', 'CLUSTER', 'OBJECTS', 'VOLUMES', 'FILES', 'SIZE', 'NEW', 'TAGS'],
                all.map((s) => [
                  s.id.slice(0, 12),
                  formatTime(s.time),
                  s.cluster,
                  String(s.counts.resources),
                  String(s.counts.volumes),
                  String(s.counts.files),
                  formatBytes(s.sizes.bytes),
                  formatBytes(s.sizes.added),
                  s.tags.join(','),
                ]),
              ),
        );
        return unreadable.length > 0 ? ExitCode.problems : ExitCode.ok;
      }),
    );
  },
};

const show: CliCommand = {
  name: 'show',
  summary: 'Show one snapshot: summary, objects by namespace and kind, volumes, data',
  usage: `SNAPSHOT --repo … [--output json]

  SNAPSHOT   a snapshot id, a unique prefix of one, or "latest"
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(args, {}, { min: 1, max: 1, names: 'SNAPSHOT' });
    return runCommand('show', format, () =>
      withRepository(values, async (repo) => {
        const id = await resolveSnapshotId(repo, positionals[0]);
        const manifest = await readManifest(repo, id);
        const catalog = await readCatalog(repo, id);
        const contents = contentsByNamespace(catalog);
        const { catalog: _catalog, ...rest } = manifest;
        const volumes = catalog.volumes.map(({ fileList: _fileList, ...v }) => v);
        emit(format, { ...rest, volumes, data: catalog.data, contents }, () => {
          const lines = [
            `snapshot ${manifest.id}`,
            `  time       ${formatTime(manifest.time)} UTC (took ${formatDuration(manifest.durationMs)})`,
            `  cluster    ${manifest.cluster}`,
            `  scope      ${JSON.stringify(manifest.scope)}`,
          ];
          if (manifest.tags.length) lines.push(`  tags       ${manifest.tags.join(', ')}`);
          lines.push(`  by         ${manifest.user ?? '?'}@${manifest.host ?? '?'} with lifeboat ${manifest.toolVersion ?? '?'}`);
          lines.push(`  size       ${formatBytes(manifest.sizes.bytes)} (${formatBytes(manifest.sizes.added)} new when captured)`);
          for (const w of manifest.warnings) lines.push(`  warning    ${w}`);
          lines.push('', `objects (${catalog.resources.length}):`);
          for (const ns of Object.keys(contents).sort()) {
            lines.push(`  ${ns || '(cluster-scoped)'}`);
            for (const kind of Object.keys(contents[ns]).sort()) lines.push(`    ${kind.padEnd(24)} ${contents[ns][kind].join(', ')}`);
          }
          lines.push('', `volumes (${volumes.length}):`);
          for (const v of volumes) {
            const extra = [v.storageClass && `class ${v.storageClass}`, v.capacity].filter(Boolean).join(', ');
            lines.push(`  ${v.namespace}/${v.pvc}  ${v.files} file(s), ${formatBytes(v.bytes)}${extra ? `  (${extra})` : ''}`);
          }
          if (catalog.data.length) {
            lines.push('', 'data:');
            for (const d of catalog.data) lines.push(`  ${d.name}  ${formatBytes(d.bytes)}`);
          }
          return lines.join('\n');
        });
        return ExitCode.ok;
      }),
    );
  },
};

const forget: CliCommand = {
  name: 'repo forget',
  summary: 'Delete snapshots (their data goes at the next prune)',
  usage: `SNAPSHOT... --repo … [--output json]

  SNAPSHOT   snapshot ids or unique prefixes; the data they alone used stays
             in the repository until "lifeboat repo prune"
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(args, {}, { min: 1, max: Infinity, names: 'SNAPSHOT to forget' });
    return runCommand('repo forget', format, () =>
      withRepository(values, async (repo) => {
        // Resolve every id first: a typo must not leave half of the list deleted.
        const ids: string[] = [];
        for (const p of positionals) ids.push(await resolveSnapshotId(repo, p));
        const lock = await acquireLock(repo, { exclusive: false, purpose: 'forget snapshots', onNotice: notice });
        try {
          for (const id of ids) await deleteSnapshot(repo, id);
        } finally {
          await lock.release();
        }
        emit(format, { forgotten: ids }, () => ids.map((id) => `forgot snapshot ${id.slice(0, 12)}`).join('\n'));
        return ExitCode.ok;
      }),
    );
  },
};

export const snapshotCommands: CliCommand[] = [snapshots, show, forget];
