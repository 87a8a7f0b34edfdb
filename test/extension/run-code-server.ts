/**
 * `npm run test:extension`: builds the extension and its extension-host
 * tests, starts the sandbox clusters, and runs the tests inside a real VS
 * Code (code-server 4.100.3, installed on first use, in headless chromium)
 * whose extension host has KUBECONFIG pointing at the sandbox: contexts
 * sandbox-prod, sandbox-dev and their -restricted variants. Exits with the
 * tests' exit code. Options: see run-common.ts (USAGE).
 *
 * LIFEBOAT_TEST_ARTIFACTS=DIR keeps a screenshot of the editor there when a
 * run times out; LIFEBOAT_EXTENSION_TEST_TIMEOUT_MS bounds the whole run
 * (default 10 minutes).
 */
import { ensureCodeServer, runExtensionTests } from '../support/codeServer';
import { TESTS_BEGIN_MARKER } from './index';
import { buildForTests, exitWith, extensionTestsPath, parseRunArgs, repoRoot, withTestEnvironment } from './run-common';

async function main(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  if (args.build) buildForTests();
  await ensureCodeServer();
  return withTestEnvironment(args, async ({ workspace, env }) => {
    const started = Date.now();
    const code = await runExtensionTests({
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath,
      workspace,
      env,
      quietUntil: TESTS_BEGIN_MARKER,
      timeoutMs: Number(process.env.LIFEBOAT_EXTENSION_TEST_TIMEOUT_MS) || undefined,
      artifactsDir: process.env.LIFEBOAT_TEST_ARTIFACTS,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`extension tests ${code === 0 ? 'passed' : `failed (exit ${code})`} in ${seconds} s`);
    return code;
  });
}

exitWith(main(process.argv.slice(2)));
