// Bundles the three targets: the extension (vscode external), the worker/CLI
// (self-contained Node), and one browser bundle per webview panel.
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { copyEtcd3Protos, etcd3ProtoPlugin } from './etcd3-bundle.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

const panels = existsSync('webviews')
  ? readdirSync('webviews', { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'common' && existsSync(join('webviews', d.name, 'main.ts')))
      .map((d) => d.name)
  : [];

const targets = [
  {
    ...common,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: ['src/worker/main.ts'],
    outfile: 'dist/worker.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    // Optional native accelerators of transitive dependencies; absent is fine.
    external: ['bufferutil', 'utf-8-validate'],
    plugins: [etcd3ProtoPlugin],
  },
  ...panels.map((p) => ({
    ...common,
    entryPoints: [join('webviews', p, 'main.ts')],
    outfile: join('dist', 'webviews', `${p}.js`),
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  })),
];

// The worker's etcd client reads these beside dist/worker.js.
copyEtcd3Protos('dist');

if (watch) {
  for (const t of targets) {
    const ctx = await esbuild.context(t);
    await ctx.watch();
  }
} else {
  await Promise.all(targets.map((t) => esbuild.build(t)));
  if (existsSync('dist/worker.js')) chmodSync('dist/worker.js', 0o755);
}
