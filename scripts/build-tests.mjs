// Compiles the extension-host tests (test/extension: the runner index.ts and
// every *.test.ts) to out/test/extension/, one CommonJS file each, the layout
// the editor loads through extensionTestsPath. `vscode` is the editor's own
// module; mocha is loaded from node_modules so its reporters resolve.
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const src = 'test/extension';
const outdir = 'out/test/extension';

const entryPoints = readdirSync(src, { recursive: true, encoding: 'utf8' })
  .filter((f) => f === 'index.ts' || f.endsWith('.test.ts'))
  .map((f) => join(src, f));

// Tests removed from the source must not keep running from old output.
rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  entryPoints,
  outdir,
  outbase: src,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'inline',
  external: ['vscode', 'mocha'],
  logLevel: 'warning',
});
