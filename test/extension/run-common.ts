/**
 * What both extension-test runners share: the build, the command line, and
 * the environment the tests run in (a fresh workspace folder and the
 * sandbox clusters in KUBECONFIG).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSandbox, type Sandbox } from '../sandbox';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const extensionTestsPath = path.join(repoRoot, 'out', 'test', 'extension', 'index.js');

export const USAGE = `Options:
  --grep TEXT     run only tests whose full title contains TEXT
  --no-sandbox    do not start the sandbox clusters (tests needing them skip)
  --no-build      use dist/ and out/test/extension/ as they are`;

export interface RunArgs {
  grep?: string;
  sandbox: boolean;
  build: boolean;
}

export class UsageError extends Error {}

export function parseRunArgs(argv: string[]): RunArgs {
  const args: RunArgs = { sandbox: true, build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--grep') {
      args.grep = argv[++i];
      if (!args.grep) throw new UsageError('--grep needs a value');
    } else if (a === '--no-sandbox') args.sandbox = false;
    else if (a === '--no-build') args.build = false;
    else throw new UsageError(`unknown option ${a}`);
  }
  return args;
}

/** Bundles the extension (dist/) and compiles the extension-host tests (out/test/extension/). */
export function buildForTests(): void {
  for (const script of ['scripts/build.mjs', 'scripts/build-tests.mjs']) {
    const r = spawnSync(process.execPath, [script], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status ?? r.signal}); see its output above`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface TestEnvironment {
  /** An empty folder for the editor to open, removed afterwards. */
  workspace: string;
  /** For the extension host: KUBECONFIG of the sandbox, and the runner's settings (index.ts reads them). */
  env: Record<string, string | undefined>;
}

/**
 * Runs `tests` with a fresh workspace folder and, unless told otherwise,
 * the sandbox clusters; removes both afterwards, also on Ctrl-C.
 */
export async function withTestEnvironment(args: RunArgs, tests: (environment: TestEnvironment) => Promise<number>): Promise<number> {
  let sandbox: Sandbox | undefined;
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-extension-workspace-'));
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      await sandbox?.stop();
      await rm(workspace, { recursive: true, force: true });
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    if (args.sandbox) sandbox = await startSandbox();
    return await tests({
      workspace,
      env: {
        KUBECONFIG: sandbox?.kubeconfigPath,
        // Where the prod cluster keeps its volumes' bytes: tests put data into a claim there, as the benchmark does.
        LIFEBOAT_SANDBOX_PROD_DATA: sandbox?.clusters.get('prod')?.dataDir,
        LIFEBOAT_TEST_GREP: args.grep ? escapeRegExp(args.grep) : undefined,
        LIFEBOAT_TEST_COLOR: process.stdout.isTTY ? '1' : '0',
      },
    });
  } finally {
    await cleanup();
  }
}

/** Exits with the tests' code, or 1 with the error's message (and usage for a bad command line). */
export function exitWith(run: Promise<number>): void {
  run.then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      if (err instanceof UsageError) console.error(USAGE);
      process.exit(1);
    },
  );
}
