/**
 * Label selectors in the string form the API server takes
 * ("app=web,tier!=cache,env in (prod,stage),!legacy"), matched locally
 * where the server cannot do it for us: the roots of a tagged capture are
 * found among objects listed without a selector.
 */

type Requirement =
  | { op: 'eq' | 'ne'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'absent'; key: string };

export interface LabelSelector {
  readonly text: string;
  matches(labels: Record<string, string> | undefined): boolean;
}

/** Splits on commas outside parentheses: "a in (x,y),b" → ["a in (x,y)", "b"]. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

// The API server's rules for label keys (optional DNS-subdomain prefix, then a name of up to 63) and values.
const KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

function parseTerm(term: string, whole: string): Requirement {
  const bad = (what: string): Error =>
    new Error(`label selector "${whole}": ${what} in "${term}" (use key=value, key!=value, key in (a,b), key notin (a,b), key or !key)`);
  const checked = (r: Requirement): Requirement => {
    if (!KEY.test(r.key)) throw bad(`"${r.key}" is not a valid label key`);
    for (const v of r.op === 'eq' || r.op === 'ne' ? [r.value] : r.op === 'in' || r.op === 'notin' ? r.values : []) {
      if (!VALUE.test(v)) throw bad(`"${v}" is not a valid label value`);
    }
    return r;
  };
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (set) return checked({ op: set[2] as 'in' | 'notin', key: set[1], values: set[3].split(',').map((v) => v.trim()) });
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (cmp) return checked({ op: cmp[2] === '!=' ? 'ne' : 'eq', key: cmp[1], value: cmp[3] });
  const absent = /^!\s*([^=!\s()]+)$/.exec(term);
  if (absent) return checked({ op: 'absent', key: absent[1] });
  if (/^[^=!\s(),]+$/.test(term)) return checked({ op: 'exists', key: term });
  throw bad('cannot read the term');
}

function satisfied(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.op) {
    case 'eq':
      return has && labels[r.key] === r.value;
    case 'ne':
      return !has || labels[r.key] !== r.value;
    case 'in':
      return has && r.values.includes(labels[r.key]);
    case 'notin':
      return !has || !r.values.includes(labels[r.key]);
    case 'exists':
      return has;
    case 'absent':
      return !has;
  }
}

/** Throws, naming the bad term, when the text is not a selector. An empty text selects everything. */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = splitTerms(text).map((t) => parseTerm(t, text));
  return { text, matches: (labels) => requirements.every((r) => satisfied(r, labels ?? {})) };
}

/**
 * Whether a Service-style selector (a plain map, as in Service.spec.selector)
 * selects these labels. An empty or missing selector selects nothing: a
 * Service without one routes to no pod chosen by labels.
 */
export function mapSelects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  if (entries.length === 0) return false;
  return entries.every(([k, v]) => labels?.[k] === v);
}
