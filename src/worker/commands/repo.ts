import { acquireLock, listLocks, removeStaleLocks } from '../../engine/repo/lock';
import { prune } from '../../engine/repo/prune';
import { Repository } from '../../engine/repo/repository';
import { describePolicy, type RetentionPolicy } from '../../engine/repo/retention';
import { verify } from '../../engine/repo/verify';
import { ExitCode } from '../cli';
import { emit, formatBytes, formatTime, notice, table } from '../output';
import { NEW_PASSWORD_ENV, PASSWORD_ENV, readPassphrase } from '../passphrase';
import type { CliCommand } from './index';
import { backendFor, parseCommandArgs, parseCount, REPO_USAGE, runCommand, withRepository } from './repoAccess';

/** Repository maintenance: create, check, prune, passphrases, index, locks. */

const init: CliCommand = {
  name: 'repo init',
  summary: 'Create a new, empty repository (encrypted unless told otherwise)',
  usage: `--repo PATH|s3://BUCKET/PREFIX [--insecure-no-encryption] [--output json]

  --insecure-no-encryption   store data unencrypted (anyone with access to the
                             storage can read it); no passphrase is needed
  ${REPO_USAGE}
The new passphrase comes from ${PASSWORD_ENV}, or is asked for twice at a terminal.`,
  run: async (args) => {
    const { values, format } = parseCommandArgs(args, { 'insecure-no-encryption': { type: 'boolean' } }, { min: 0, max: 0, names: '' });
    const backend = backendFor(values);
    return runCommand('repo init', format, async () => {
      const insecure = values['insecure-no-encryption'] === true;
      const passphrase = insecure
        ? undefined
        : await readPassphrase({ env: PASSWORD_ENV, purpose: `a new passphrase for ${backend.location}`, confirm: true });
      const repo = await Repository.init(backend, { passphrase, insecureNoEncryption: insecure });
      await repo.close();
      emit(format, { id: repo.id, location: backend.location, encrypted: repo.encrypted }, () =>
        [
          `created repository ${repo.id.slice(0, 12)} at ${backend.location}`,
          insecure
            ? 'WARNING: it is not encrypted; anyone who can read the storage can read the backups'
            : 'it is encrypted: keep the passphrase safe, without it the backups cannot be read',
        ].join('\n'),
      );
      return ExitCode.ok;
    });
  },
};

const verifyCommand: CliCommand = {
  name: 'repo verify',
  summary: 'Check the repository structure and every snapshot (with --read-data, every blob)',
  usage: `[--read-data] ${'--repo …'} [--output json]

  --read-data   read and decrypt every blob and check its hash (slow: reads everything)
  ${REPO_USAGE}
Exit status 3 when problems are found; each damaged blob is reported with the
snapshots, files and objects that use it.`,
  run: async (args) => {
    const { values, format } = parseCommandArgs(args, { 'read-data': { type: 'boolean' } }, { min: 0, max: 0, names: '' });
    return runCommand('repo verify', format, () =>
      withRepository(values, async (repo) => {
        const progress = process.stderr.isTTY
          ? (done: number, total: number) => process.stderr.write(`\rchecking packs: ${done}/${total} `)
          : undefined;
        const report = await verify(repo, { readData: values['read-data'] === true, onNotice: notice, onProgress: progress });
        if (progress) process.stderr.write('\n');
        emit(format, report, () => {
          const head = `${report.readData ? 'verified with data' : 'verified structure'}: ${report.snapshots} snapshot(s), ${report.blobsReferenced} blob(s) referenced`;
          const leftovers = report.leftovers.length
            ? `\nnote: ${report.leftovers.length} pack(s) are in no index: left by interrupted captures; "lifeboat repo prune" removes them`
            : '';
          if (report.ok) return `${head}; no problems found${leftovers}`;
          const lines = [`${head}; ${report.errors.length} problem(s) found:${leftovers}`];
          for (const e of report.errors) {
            lines.push(`  ${e.kind}: ${e.message}`);
            for (const u of e.usedBy ?? []) lines.push(`      used by ${u}`);
            if (e.usedByMore) lines.push(`      … and ${e.usedByMore} more`);
          }
          return lines.join('\n');
        });
        return report.ok ? ExitCode.ok : ExitCode.problems;
      }),
    );
  },
};

const RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

const pruneCommand: CliCommand = {
  name: 'repo prune',
  summary: 'Forget snapshots by retention policy and remove data no snapshot needs',
  usage: `[--dry-run] [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N]
       [--keep-monthly N] [--keep-yearly N] --repo … [--output json]

  --dry-run        report what would be forgotten and removed; change nothing
  --keep-last N    keep the N newest snapshots of each cluster and scope
  --keep-hourly N  … the newest of each of the last N hours that have one (UTC);
                   likewise daily, weekly (ISO weeks), monthly, yearly
  Without --keep-* options no snapshot is forgotten; only unreferenced data goes.
  ${REPO_USAGE}`,
  run: async (args) => {
    const options = Object.fromEntries(RULES.map((r) => [`keep-${r}`, { type: 'string' as const }]));
    const { values, format } = parseCommandArgs(args, { ...options, 'dry-run': { type: 'boolean' } }, { min: 0, max: 0, names: '' });
    const policy: RetentionPolicy = {};
    for (const r of RULES) {
      const n = parseCount(values, `keep-${r}`);
      if (n !== undefined) policy[r] = n;
    }
    return runCommand('repo prune', format, () =>
      withRepository(values, async (repo) => {
        const dryRun = values['dry-run'] === true;
        const report = await prune(repo, { policy, dryRun, onNotice: notice });
        emit(format, report, () => {
          const would = dryRun ? 'would ' : '';
          const lines: string[] = [];
          const policyText = describePolicy(policy);
          lines.push(policyText ? `policy: ${policyText}` : 'no retention policy: no snapshot is forgotten');
          lines.push(`${would}forget ${report.forgotten.length} of ${report.snapshotsBefore} snapshot(s)`);
          for (const f of report.forgotten) lines.push(`  ${f.id.slice(0, 12)}  ${formatTime(f.time)}  ${f.cluster}  (${f.reasons.join('; ')})`);
          if (report.orphanCatalogs.length) lines.push(`${would}remove ${report.orphanCatalogs.length} catalog(s) left by unfinished captures`);
          lines.push(
            `${would}remove ${report.blobsRemoved} blob(s): delete ${report.packsDeleted} pack(s), repack ${report.packsRepacked}, ` +
              `free ${formatBytes(report.bytesFreed)}`,
          );
          if (report.unfinishedWritesRemoved) lines.push(`removed ${report.unfinishedWritesRemoved} unfinished write(s) left by interrupted writers`);
          return lines.join('\n');
        });
        return ExitCode.ok;
      }),
    );
  },
};

const passphraseAdd: CliCommand = {
  name: 'repo passphrase add',
  summary: 'Add another passphrase that opens the repository',
  usage: `--repo … [--output json]

  The current passphrase comes from ${PASSWORD_ENV} (or a prompt); the new one
  from ${NEW_PASSWORD_ENV}, or is asked for twice at a terminal.
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, format } = parseCommandArgs(args, {}, { min: 0, max: 0, names: '' });
    return runCommand('repo passphrase add', format, () =>
      withRepository(values, async (repo) => {
        const fresh = await readPassphrase({ env: NEW_PASSWORD_ENV, purpose: 'the new passphrase', confirm: true });
        const { id } = await repo.addKey(fresh);
        emit(format, { id }, () => `added passphrase ${id.slice(0, 12)}`);
        return ExitCode.ok;
      }),
    );
  },
};

const passphraseList: CliCommand = {
  name: 'repo passphrase list',
  summary: 'List the passphrases (key files) of the repository',
  usage: `--repo … [--output json]\n\n  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, format } = parseCommandArgs(args, {}, { min: 0, max: 0, names: '' });
    return runCommand('repo passphrase list', format, () =>
      withRepository(values, async (repo) => {
        const keys = await repo.listKeys();
        emit(format, keys, () =>
          table(
            ['ID', 'CREATED', 'HOST', ''],
            keys.map((k) => [k.id.slice(0, 12), formatTime(k.created), k.host ?? '', k.current ? '(this one)' : '']),
          ),
        );
        return ExitCode.ok;
      }),
    );
  },
};

const passphraseRemove: CliCommand = {
  name: 'repo passphrase remove',
  summary: 'Remove a passphrase (not the one in use, not the last one)',
  usage: `ID --repo … [--output json]\n\n  ID   a key id or a unique prefix, as "repo passphrase list" shows\n  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(args, {}, { min: 1, max: 1, names: 'ID of the passphrase to remove' });
    return runCommand('repo passphrase remove', format, () =>
      withRepository(values, async (repo) => {
        await repo.removeKey(positionals[0]);
        emit(format, { removed: positionals[0] }, () => `removed passphrase ${positionals[0]}`);
        return ExitCode.ok;
      }),
    );
  },
};

const indexRebuild: CliCommand = {
  name: 'repo index rebuild',
  summary: 'Rebuild the index from the packs (after index damage or a crash)',
  usage: `--repo … [--output json]\n\n  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, format } = parseCommandArgs(args, {}, { min: 0, max: 0, names: '' });
    return runCommand('repo index rebuild', format, () =>
      withRepository(values, async (repo) => {
        const lock = await acquireLock(repo, { exclusive: true, purpose: 'index rebuild', onNotice: notice });
        try {
          const result = await repo.rebuildIndex();
          emit(format, result, () =>
            [
              `index rebuilt: ${result.blobs} blob(s) in ${result.packs} pack(s)`,
              ...result.unreadable.map((p) => `  pack ${p} could not be read and was left out`),
            ].join('\n'),
          );
          return result.unreadable.length ? ExitCode.problems : ExitCode.ok;
        } finally {
          await lock.release();
        }
      }),
    );
  },
};

const unlock: CliCommand = {
  name: 'repo unlock',
  summary: 'Remove stale locks (expired, or left by a process that is gone)',
  usage: `[--all] --repo … [--output json]

  --all   remove every lock, also live ones: only when you know nothing else
          is using the repository
  ${REPO_USAGE}`,
  run: async (args) => {
    const { values, format } = parseCommandArgs(args, { all: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
    return runCommand('repo unlock', format, () =>
      withRepository(values, async (repo) => {
        const removed = await removeStaleLocks(repo, { all: values.all === true });
        const remaining = (await listLocks(repo)).filter((l) => l.info).map((l) => l.info!);
        emit(format, { removed, remaining }, () =>
          [
            removed.length ? `removed ${removed.length} lock(s):` : 'no stale locks',
            ...removed.map((r) => `  ${r.description}: ${r.reason}`),
            ...(remaining.length
              ? [`${remaining.length} live lock(s) remain:`, ...remaining.map((i) => `  "${i.purpose}" by ${i.user}@${i.host} pid ${i.pid} since ${i.time}`)]
              : []),
          ].join('\n'),
        );
        return ExitCode.ok;
      }),
    );
  },
};

export const repoCommands: CliCommand[] = [init, verifyCommand, pruneCommand, passphraseAdd, passphraseList, passphraseRemove, indexRebuild, unlock];
