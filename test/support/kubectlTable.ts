/**
 * Reads kubectl's human table output into records keyed by column header, so
 * tests compare `kubectl get` with what a real cluster shows, field by field.
 * Columns are found from the header's positions: values may contain spaces
 * (AGE "5m2s", ACCESS MODES) but never start left of their header.
 */
export function parseTable(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trim().split('\n');
  const starts: number[] = [];
  const names: string[] = [];
  const re = /\S+(?: \S+)*/g;
  for (let m = re.exec(header); m; m = re.exec(header)) {
    starts.push(m.index);
    names.push(m[0]);
  }
  return rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim()])));
}

/** Several tables, as `kubectl get a,b,c` prints them: separated by blank lines. */
export function parseTables(text: string): Record<string, string>[][] {
  return text.trim().split(/\n\s*\n/).map(parseTable);
}
