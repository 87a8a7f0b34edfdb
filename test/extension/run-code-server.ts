/**
 * `npm run test:extension`: builds the extension and its extension-host
 * tests, starts the sandbox clusters, and runs the tests inside a real VS
 * Code (code-server, installed on first use) with KUBECONFIG pointing at
 * the sandbox, so the extension sees contexts sandbox-prod, sandbox-dev and
 * their -restricted variants. Exits with the tests' exit code.
 *
 * Options:
 *   --grep TEXT     run only tests whose full title contains TEXT
 *   --no-sandbox    do not start the sandbox clusters
 *   --no-build      use dist/ and out/test/extension/ as they are
 * LIFEBOAT_TEST_ARTIFACTS=DIR keeps a screenshot of the editor there when a run times out.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSandbox, type Sandbox } from '../sandbox';
import { ensureCodeServer, runExtensionTests } from '../support/codeServer';
import { TESTS_BEGIN_MARKER } from './index';

const repoRoot = path.resolve(__dirname, '..', '..');

function build(): void {
  for (const script of ['scripts/build.mjs', 'scripts/build-tests.mjs']) {
    const r = spawnSync(process.execPath, [script], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status ?? r.signal}); see its output above`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function main(argv: string[]): Promise<number> {
  const grepAt = argv.indexOf('--grep');
  const grep = grepAt >= 0 ? argv[grepAt + 1] : undefined;
  if (grepAt >= 0 && !grep) throw new Error('--grep needs a value');
  if (!argv.includes('--no-build')) build();
  await ensureCodeServer();

  let sandbox: Sandbox | undefined;
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-extension-workspace-'));
  const cleanup = async () => {
    await sandbox?.stop();
    await rm(workspace, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    if (!argv.includes('--no-sandbox')) sandbox = await startSandbox();
    const started = Date.now();
    const code = await runExtensionTests({
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'out', 'test', 'extension', 'index.js'),
      workspace,
      env: {
        KUBECONFIG: sandbox?.kubeconfigPath,
        LIFEBOAT_TEST_GREP: grep ? escapeRegExp(grep) : undefined,
        LIFEBOAT_TEST_COLOR: process.stdout.isTTY ? '1' : '0',
      },
      quietUntil: TESTS_BEGIN_MARKER,
      artifactsDir: process.env.LIFEBOAT_TEST_ARTIFACTS,
    });
    console.log(`extension tests ${code === 0 ? 'passed' : `failed (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return code;
  } finally {
    await cleanup();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
