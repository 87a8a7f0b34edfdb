import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SnapshotSummary } from '../../../src/engine/repo/api';
import { buildCli, cli, cliOk, parseJson } from '../../support/proc';
import { diffTrees, generateDataset, hashTree, type DatasetSummary } from '../../support/datagen';

type Summary = SnapshotSummary;

describe('lifeboat repo command line', function () {
  this.timeout(120_000);
  let work: string;
  let repoDir: string;
  let src: string;
  let data: DatasetSummary;
  const password = 'first passphrase';
  // No LIFEBOAT_REPOSITORY from the caller's shell leaks in.
  const env = { LIFEBOAT_REPOSITORY: undefined, LIFEBOAT_NEW_PASSWORD: undefined };

  before(async function () {
    await buildCli();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-cli-'));
    repoDir = path.join(work, 'repo');
    src = path.join(work, 'src');
    data = await generateDataset(src, { totalBytes: 3 * 1024 * 1024, smallFiles: 60, seed: 3 });
  });

  after(function () {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('init creates an encrypted repository and refuses to create it twice', async function () {
    const r = await cliOk(['repo', 'init', '--repo', repoDir, '--output', 'json'], { password, env });
    const out = parseJson<{ id: string; encrypted: boolean }>(r);
    assert.match(out.id, /^[0-9a-f]{64}$/);
    assert.equal(out.encrypted, true);
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the passphrase is never printed');
    const again = await cli(['repo', 'init', '--repo', repoDir], { password, env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds a Lifeboat repository/);
  });

  it('without LIFEBOAT_PASSWORD and no terminal, says how to give the passphrase', async function () {
    const r = await cli(['snapshots', '--repo', repoDir], { env: { ...env, LIFEBOAT_PASSWORD: undefined }, input: '' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /set the environment variable LIFEBOAT_PASSWORD/);
  });

  it('a wrong passphrase is a clear error with exit status 1', async function () {
    const r = await cli(['snapshots', '--repo', repoDir], { password: 'not it', env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wrong passphrase/);
    assert.ok(!r.stderr.includes('not it'));
  });

  it('bad options are usage errors with exit status 2', async function () {
    assert.equal((await cli(['repo', 'prune', '--repo', repoDir, '--keep-last', 'many'], { password, env })).code, 2);
    assert.equal((await cli(['repo', 'cat', 'latest', '--repo', repoDir, '--volume', 'no-slash', '--path', '/x'], { password, env })).code, 2);
    const noRepo = await cli(['snapshots'], { password, env });
    assert.equal(noRepo.code, 2);
    assert.match(noRepo.stderr, /--repo .*LIFEBOAT_REPOSITORY/);
  });

  it('backs up a directory, lists it, shows it, streams a file and restores it identically', async function () {
    const r = await cliOk(
      ['repo', 'backup-dir', src, '--repo', repoDir, '--cluster', 'lab', '--volume', 'apps/data', '--tag', 'seed', '--output', 'json'],
      { password, env },
    );
    const saved = parseJson<Summary>(r);
    assert.equal(saved.counts.files, data.files);

    const list = parseJson<Summary[]>(await cliOk(['snapshots', '--repo', repoDir, '--output', 'json'], { password, env }));
    assert.equal(list.length, 1);
    assert.equal(list[0].id, saved.id);
    assert.equal(list[0].cluster, 'lab');
    assert.deepEqual(list[0].scope, { volumes: ['apps/data'] });
    assert.equal(list[0].counts.volumes, 1);
    assert.ok(list[0].sizes.bytes >= data.bytes);
    const text = await cliOk(['snapshots', '--repo', repoDir], { password, env });
    assert.match(text.stdout, new RegExp(`^${saved.id.slice(0, 12)} `, 'm'));

    const shown = parseJson<{ volumes: Array<{ namespace: string; pvc: string; files: number }> }>(
      await cliOk(['show', saved.id.slice(0, 8), '--repo', repoDir, '--output', 'json'], { password, env }),
    );
    assert.deepEqual(shown.volumes.map((v) => [v.namespace, v.pvc, v.files]), [['apps', 'data', data.files]]);

    const listed = parseJson<Array<{ path: string; type: string; target?: string }>>(
      await cliOk(['repo', 'ls', 'latest', '--repo', repoDir, '--volume', 'apps/data', '--path', '/special', '--output', 'json'], { password, env }),
    );
    assert.deepEqual(listed.find((f) => f.path === '/special/link-to-largest'), {
      ...listed.find((f) => f.path === '/special/link-to-largest'),
      type: 'symlink',
      target: '../random/r000.bin',
    });

    const textFile = [...data.sizes.keys()].find((p) => p.startsWith('text/'))!;
    const cat = await cliOk(['repo', 'cat', 'latest', '--repo', repoDir, '--volume', 'apps/data', '--path', '/' + textFile], { password, env });
    assert.equal(cat.stdout, fs.readFileSync(path.join(src, textFile), 'utf8'));
    const missing = await cli(['repo', 'cat', 'latest', '--repo', repoDir, '--volume', 'apps/data', '--path', '/nope'], { password, env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);

    const out = path.join(work, 'restored');
    await cliOk(['repo', 'restore-dir', 'latest', '--repo', repoDir, '--volume', 'apps/data', '--to', out], { password, env });
    assert.deepEqual(diffTrees(await hashTree(src), await hashTree(out)), []);
    const special = path.join(work, 'restored-special');
    const sub = await cli(['repo', 'restore-dir', 'latest', '--repo', repoDir, '--volume', 'apps/data', '--to', special, '--path', '/special'], {
      password,
      env,
    });
    assert.ok(fs.existsSync(path.join(special, 'empty-file')));
    // Restored alone, /special's link to ../random/… would point outside the target: it is refused, and said so.
    assert.equal(sub.code, 3);
    assert.match(sub.stderr, /link-to-largest: symbolic link to "\.\.\/random\/r000\.bin" points outside the restore directory/);
    assert.ok(!fs.existsSync(path.join(special, 'link-to-largest')));
  });

  it('verify is clean, and after damage to a pack names the files that use the damaged blob (exit 3)', async function () {
    const ok = parseJson<{ ok: boolean; errors: unknown[] }>(
      await cliOk(['repo', 'verify', '--read-data', '--repo', repoDir, '--output', 'json'], { password, env }),
    );
    assert.equal(ok.ok, true);

    const damaged = path.join(work, 'damaged');
    fs.cpSync(repoDir, damaged, { recursive: true });
    const packs: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else packs.push(path.join(d, e.name));
      }
    };
    walk(path.join(damaged, 'data'));
    const biggest = packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
    const fd = fs.openSync(biggest, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, 100);
    byte[0] ^= 0xff;
    fs.writeSync(fd, byte, 0, 1, 100);
    fs.closeSync(fd);

    const r = await cli(['repo', 'verify', '--read-data', '--repo', damaged, '--output', 'json'], { password, env });
    assert.equal(r.code, 3, r.stderr);
    const report = parseJson<{ ok: boolean; errors: Array<{ kind: string; blobId?: string; usedBy?: string[] }> }>(r);
    assert.equal(report.ok, false);
    const withUsers = report.errors.filter((e) => e.blobId && e.usedBy?.length);
    assert.ok(withUsers.length > 0, JSON.stringify(report.errors).slice(0, 1000));
    assert.match(withUsers[0].usedBy![0], /^snapshot [0-9a-f]{12}: volume apps\/data \//);
    const text = await cli(['repo', 'verify', '--read-data', '--repo', damaged], { password, env });
    assert.equal(text.code, 3);
    assert.match(text.stdout, /used by snapshot/);
  });

  it('prune --dry-run reports what a policy would forget and changes nothing', async function () {
    fs.writeFileSync(path.join(src, 'second.txt'), 'second snapshot\n');
    await cliOk(['repo', 'backup-dir', src, '--repo', repoDir, '--cluster', 'lab', '--volume', 'apps/data'], { password, env });
    const r = await cliOk(['repo', 'prune', '--dry-run', '--keep-last', '1', '--repo', repoDir, '--output', 'json'], { password, env });
    const report = parseJson<{ dryRun: boolean; forgotten: Array<{ id: string }>; kept: unknown[] }>(r);
    assert.equal(report.dryRun, true);
    assert.equal(report.forgotten.length, 1);
    assert.equal(report.kept.length, 1);
    const list = parseJson<Summary[]>(await cliOk(['snapshots', '--repo', repoDir, '--output', 'json'], { password, env }));
    assert.equal(list.length, 2, 'a dry run forgets nothing');
    assert.equal(report.forgotten[0].id, list[0].id, 'the older one would go');

    const real = parseJson<{ forgotten: unknown[] }>(
      await cliOk(['repo', 'prune', '--keep-last', '1', '--repo', repoDir, '--output', 'json'], { password, env }),
    );
    assert.equal(real.forgotten.length, 1);
    assert.equal(parseJson<Summary[]>(await cliOk(['snapshots', '--repo', repoDir, '--output', 'json'], { password, env })).length, 1);
    await cliOk(['repo', 'verify', '--repo', repoDir], { password, env });
  });

  it('passphrases can be added, listed and removed', async function () {
    const second = 'second passphrase';
    const added = parseJson<{ id: string }>(
      await cliOk(['repo', 'passphrase', 'add', '--repo', repoDir, '--output', 'json'], { password, env: { ...env, LIFEBOAT_NEW_PASSWORD: second } }),
    );
    const keys = parseJson<Array<{ id: string; current: boolean }>>(
      await cliOk(['repo', 'passphrase', 'list', '--repo', repoDir, '--output', 'json'], { password: second, env }),
    );
    assert.equal(keys.length, 2);
    assert.equal(keys.find((k) => k.current)?.id, added.id, 'opened with the new passphrase');
    const old = keys.find((k) => !k.current)!;
    const refused = await cli(['repo', 'passphrase', 'remove', added.id, '--repo', repoDir], { password: second, env });
    assert.equal(refused.code, 1, 'the passphrase in use cannot remove itself');
    await cliOk(['repo', 'passphrase', 'remove', old.id.slice(0, 12), '--repo', repoDir], { password: second, env });
    const withOld = await cli(['snapshots', '--repo', repoDir], { password, env });
    assert.equal(withOld.code, 1);
    assert.match(withOld.stderr, /wrong passphrase/);
    await cliOk(['snapshots', '--repo', repoDir], { password: second, env });
  });

  it('index rebuild and unlock run on a healthy repository', async function () {
    const rebuilt = parseJson<{ packs: number; blobs: number }>(
      await cliOk(['repo', 'index', 'rebuild', '--repo', repoDir, '--output', 'json'], { password: 'second passphrase', env }),
    );
    assert.ok(rebuilt.packs > 0 && rebuilt.blobs > 0);
    const unlocked = parseJson<{ removed: unknown[]; remaining: unknown[] }>(
      await cliOk(['repo', 'unlock', '--repo', repoDir, '--output', 'json'], { password: 'second passphrase', env }),
    );
    assert.deepEqual(unlocked, { removed: [], remaining: [] });
  });

  it('forget deletes a snapshot by prefix after resolving every id, and prune then frees its data', async function () {
    const password2 = 'second passphrase';
    const before = parseJson<Summary[]>(await cliOk(['snapshots', '--repo', repoDir, '--output', 'json'], { password: password2, env }));
    assert.equal(before.length, 1);
    const typo = await cli(['repo', 'forget', before[0].id.slice(0, 10), 'ffffffffff', '--repo', repoDir], { password: password2, env });
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /no snapshot "ffffffffff"/);
    assert.equal(parseJson<Summary[]>(await cliOk(['snapshots', '--repo', repoDir, '--output', 'json'], { password: password2, env })).length, 1);
    await cliOk(['repo', 'forget', before[0].id.slice(0, 10), '--repo', repoDir], { password: password2, env });
    assert.equal(parseJson<Summary[]>(await cliOk(['snapshots', '--repo', repoDir, '--output', 'json'], { password: password2, env })).length, 0);
    const pruned = parseJson<{ blobsRemoved: number; packsDeleted: number }>(
      await cliOk(['repo', 'prune', '--repo', repoDir, '--output', 'json'], { password: password2, env }),
    );
    assert.ok(pruned.blobsRemoved > 0 && pruned.packsDeleted > 0);
  });
});

describe('lifeboat repo backup-dir with a parent snapshot', function () {
  this.timeout(120_000);
  let work: string;
  let repoDir: string;
  let src: string;
  let data: DatasetSummary;
  const password = 'parent passphrase';
  const env = { LIFEBOAT_REPOSITORY: undefined, LIFEBOAT_NEW_PASSWORD: undefined };
  type Saved = Summary & { reused: { parent: string | null; files: number; bytes: number } };
  const backup = async (...extra: string[]): Promise<Saved> =>
    parseJson<Saved>(
      await cliOk(['repo', 'backup-dir', src, '--repo', repoDir, '--cluster', 'lab', '--volume', 'apps/data', '--output', 'json', ...extra], {
        password,
        env,
      }),
    );

  before(async function () {
    await buildCli();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-cli-parent-'));
    repoDir = path.join(work, 'repo');
    src = path.join(work, 'src');
    data = await generateDataset(src, { totalBytes: 1024 * 1024, smallFiles: 30, seed: 5 });
    await cliOk(['repo', 'init', '--repo', repoDir], { password, env });
  });

  after(function () {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('uses the newest snapshot of the cluster holding the volume, unless told otherwise', async function () {
    const first = await backup();
    assert.deepEqual(first.reused, { parent: null, files: 0, bytes: 0 }, 'an empty repository has no parent');
    // Another cluster's, and another volume's, snapshots are never parents.
    await cliOk(['repo', 'backup-dir', src, '--repo', repoDir, '--cluster', 'other', '--volume', 'apps/data'], { password, env });
    await cliOk(['repo', 'backup-dir', src, '--repo', repoDir, '--cluster', 'lab', '--volume', 'apps/logs'], { password, env });

    const second = await backup();
    assert.equal(second.reused.parent, first.id);
    assert.equal(second.reused.files, data.files);
    assert.equal(second.sizes.added, 0);
    const text = await cliOk(['repo', 'backup-dir', src, '--repo', repoDir, '--cluster', 'lab', '--volume', 'apps/data'], { password, env });
    assert.match(text.stdout, new RegExp(`${data.files} unchanged file\\(s\\) .* taken from snapshot ${second.id.slice(0, 12)}`));

    const full = await backup('--no-parent');
    assert.deepEqual(full.reused, { parent: null, files: 0, bytes: 0 });
    const picked = await backup('--parent', first.id.slice(0, 10));
    assert.equal(picked.reused.parent, first.id);
    assert.equal(picked.reused.files, data.files);

    const out = path.join(work, 'out');
    await cliOk(['repo', 'restore-dir', picked.id, '--repo', repoDir, '--volume', 'apps/data', '--to', out], { password, env });
    assert.deepEqual(diffTrees(await hashTree(src), await hashTree(out)), []);
  });

  it('documents the options and rejects contradictory ones', async function () {
    const help = await cliOk(['repo', 'backup-dir', '--help'], { password, env });
    assert.match(help.stdout, /--parent SNAPSHOT/);
    assert.match(help.stdout, /--no-parent/);
    const both = await cli(['repo', 'backup-dir', src, '--repo', repoDir, '--cluster', 'lab', '--volume', 'apps/data', '--parent', 'latest', '--no-parent'], {
      password,
      env,
    });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--parent and --no-parent/);
    const wrong = await cli(['repo', 'backup-dir', src, '--repo', repoDir, '--cluster', 'lab', '--volume', 'apps/nothere', '--parent', 'latest'], {
      password,
      env,
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /has no volume apps\/nothere/);
  });
});
