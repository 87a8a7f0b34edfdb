/**
 * The packaged extension: `npm run package` builds dist/lifeboat.vsix
 * offline, and a real VS Code (code-server) installs it and lists it with
 * the version of package.json. The archive holds the bundles and the etcd
 * protocol files the worker loads at run time, and no sources or tests.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureCodeServer } from '../../support/codeServer';
import { repoRoot, runOk } from '../../support/proc';

const vsix = path.join(repoRoot, 'dist', 'lifeboat.vsix');

describe('the packaged extension (dist/lifeboat.vsix)', function () {
  this.timeout(300_000);
  let codeServer: string;
  let tmp: string;
  let pkg: { name: string; publisher: string; version: string };
  let entries: string[];

  before(async function () {
    try {
      codeServer = await ensureCodeServer();
    } catch (err) {
      // mocha shows no reason for a skip: this line does.
      console.log(`    skipped: code-server cannot be installed here, so no VS Code can install the .vsix (${(err as Error).message})`);
      this.skip();
    }
    pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8'));
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-vsix-'));
    await runOk('npm', ['run', '--silent', 'package'], { cwd: repoRoot, timeoutMs: 240_000 });
    const listing = await runOk('unzip', ['-Z1', vsix]);
    entries = listing.stdout.split('\n').filter(Boolean);
  });

  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('is under 5 MB', async () => {
    const { size } = await stat(vsix);
    assert.ok(size < 5 * 1024 * 1024, `dist/lifeboat.vsix is ${size} bytes`);
  });

  it('holds the extension, worker and panel bundles, the panels\' stylesheet and the etcd protocol files', () => {
    const files = [
      'extension/dist/extension.js',
      'extension/dist/worker.js',
      'extension/dist/webviews/restorePlan.js',
      'extension/dist/webviews/overview.js',
      'extension/media/panels.css',
      'extension/package.json',
    ];
    for (const file of files) {
      assert.ok(entries.includes(file), `${file} is missing from the archive: ${entries.join(', ')}`);
    }
    const protos = entries.filter((e) => /^extension\/dist\/etcd3-proto\/[^/]+\.proto$/.test(e));
    assert.ok(protos.length > 0, `no dist/etcd3-proto/*.proto in the archive: ${entries.join(', ')}`);
  });

  it('holds nothing from src/, test/ or webviews/, and no source maps', () => {
    const leaked = entries.filter((e) => /^extension\/(src|test|webviews)\//.test(e) || e.endsWith('.map'));
    assert.deepEqual(leaked, []);
  });

  it('installs into a real VS Code, which lists it with the version of package.json', async () => {
    const env = { XDG_CONFIG_HOME: path.join(tmp, 'config'), XDG_DATA_HOME: path.join(tmp, 'data'), XDG_CACHE_HOME: path.join(tmp, 'cache') };
    const common = ['--extensions-dir', path.join(tmp, 'extensions'), '--user-data-dir', path.join(tmp, 'user-data')];
    await runOk(codeServer, [...common, '--install-extension', vsix], { env, timeoutMs: 120_000 });
    const listed = await runOk(codeServer, [...common, '--list-extensions', '--show-versions'], { env, timeoutMs: 60_000 });
    const id = `${pkg.publisher}.${pkg.name}@${pkg.version}`;
    assert.ok(listed.stdout.split('\n').map((l) => l.trim()).includes(id), `expected ${id} in:\n${listed.stdout}`);
  });
});
