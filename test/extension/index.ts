/**
 * Mocha runner inside the VS Code extension host, in the shape
 * @vscode/test-electron and the code-server runner both load: the editor
 * requires this module (compiled to out/test/extension/index.js) and awaits
 * run(). Every *.test.js compiled next to it is a test file.
 *
 * Environment (passed through the editor's environment):
 *   LIFEBOAT_TEST_GREP     run only tests whose full title matches
 *   LIFEBOAT_TEST_TIMEOUT  per-test timeout in ms (default 60000)
 *   LIFEBOAT_TEST_COLOR=1  colored reporter output
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

/**
 * Printed before the first test output, so a runner can tell the tests'
 * output from the workbench's own log lines that reach it the same way.
 */
export const TESTS_BEGIN_MARKER = '--- lifeboat extension tests ---';

function testFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(dir, f));
}

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: process.env.LIFEBOAT_TEST_COLOR === '1',
    timeout: Number(process.env.LIFEBOAT_TEST_TIMEOUT ?? 60_000),
    grep: process.env.LIFEBOAT_TEST_GREP || undefined,
  });
  const files = testFiles(__dirname);
  if (files.length === 0) return Promise.reject(new Error(`no *.test.js under ${__dirname}: run scripts/build-tests.mjs first`));
  for (const f of files) mocha.addFile(f);
  console.log(TESTS_BEGIN_MARKER);
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      if (failures > 0) reject(new Error(`${failures} extension test${failures === 1 ? '' : 's'} failed`));
      else resolve();
    });
  });
}
