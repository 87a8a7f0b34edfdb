import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** Prints a benchmark's Markdown report and writes it to `out` (default bench/results/NAME.md; "-" prints only). */
export async function publishReport(doc: string, repoRoot: string, name: string, out: string | undefined, log: (line: string) => void): Promise<void> {
  process.stdout.write(doc);
  const file = out ?? path.join(repoRoot, 'bench', 'results', `${name}.md`);
  if (file === '-') return;
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, doc);
  log(`wrote ${file}`);
}
