/**
 * `npm run test:vscode`: the same extension-host tests in desktop VS Code
 * through @vscode/test-electron, for machines that can download VS Code
 * (into .vscode-test/). On Linux without a display, run it under xvfb-run.
 * LIFEBOAT_VSCODE_VERSION picks the version (default: stable).
 * Options: see run-common.ts (USAGE).
 */
import { runTests, TestRunFailedError } from '@vscode/test-electron';
import { buildForTests, exitWith, extensionTestsPath, parseRunArgs, repoRoot, withTestEnvironment } from './run-common';

async function main(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  if (args.build) buildForTests();
  return withTestEnvironment(args, async ({ workspace, env }) => {
    try {
      return await runTests({
        version: process.env.LIFEBOAT_VSCODE_VERSION ?? 'stable',
        extensionDevelopmentPath: repoRoot,
        extensionTestsPath,
        extensionTestsEnv: env,
        launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
      });
    } catch (err) {
      if (err instanceof TestRunFailedError) return err.code ?? 1;
      const message = err instanceof Error ? err.message : String(err);
      if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/.test(message)) {
        throw new Error(`cannot download VS Code (${message}); on a machine without access to its servers run npm run test:extension instead`);
      }
      throw err instanceof Error ? err : new Error(message);
    }
  });
}

exitWith(main(process.argv.slice(2)));
