/**
 * Restore profiles: how objects change on their way to the target. Two are
 * built in (`dr`, `dev`); the others are YAML files kept with the workspace
 * in `.lifeboat/profiles/NAME.yaml`, so a team reviews them like code.
 *
 * A file is validated here field by field, the same rules as
 * `schemas/restore-profile.schema.json` (which the editor uses for
 * completion while the file is written), so that a profile that loads is one
 * the transform can apply without a surprise halfway through a restore.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { RestoreProfileInfo } from '../../protocol/worker';
import { parseLabelSelector } from '../capture/labelSelector';
import { editDistance } from '../capture/scope';
import { parsePointer } from './patch';
import type { ExistingPolicy, RestoreProfile, SecretMode } from './types';

export const PROFILE_API_VERSION = 'lifeboat.dev/v1';
export const PROFILE_KIND = 'RestoreProfile';

/** Where named profiles are looked for when no folder is given: `.lifeboat/profiles` under the working directory. */
export function defaultProfilesDir(): string {
  return path.join(process.cwd(), '.lifeboat', 'profiles');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The built-in profiles. `dr` restores everything as it was captured.
 * `dev` makes a working copy of production that is cheap and harmless: one
 * replica, Secrets replaced by placeholders, no load balancers or node ports,
 * no cloud controllers' annotations (load balancers, IAM roles), and pods
 * free to run on any node.
 */
export const BUILTIN_PROFILES: Readonly<Record<'dr' | 'dev', RestoreProfile>> = deepFreeze({
  dr: { name: 'dr', description: 'Disaster recovery: everything as it was captured, Secrets included.' },
  dev: {
    name: 'dev',
    description:
      'A development copy: 1 replica, Secrets replaced by placeholders, LoadBalancer and NodePort Services as ClusterIP, ' +
      "no cloud providers' annotations, no node selectors, affinity or tolerations.",
    replicas: { default: 1 },
    secrets: { mode: 'placeholder' },
    serviceTypes: { LoadBalancer: 'ClusterIP', NodePort: 'ClusterIP' },
    dropCloudAnnotations: true,
    dropNodeSelectors: true,
    dropAffinity: true,
    dropTolerations: true,
  },
});

const isBuiltIn = (name: string): name is 'dr' | 'dev' => Object.prototype.hasOwnProperty.call(BUILTIN_PROFILES, name);

/** A profile file that does not parse or validate. The message names the file, the field and what to write there. */
export class ProfileError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly problems: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ProfileError';
  }
}

// ---------------------------------------------------------------------------
// Validation

type Path = (string | number)[];

/** "replicas.rules[0].match" */
export function formatPath(p: Path): string {
  let out = '';
  for (const part of p) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out || '(top level)';
}

const SECRET_MODES: SecretMode[] = ['copy', 'skip', 'placeholder', 'fromSecret'];
const EXISTING: ExistingPolicy[] = ['skip', 'update', 'recreate'];
const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'];
const PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];
/** RFC 1123 label: namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain: StorageClass, IngressClass and Secret names. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The closest of the allowed names, when one is close enough to be a typo. */
function suggestion(key: string, allowed: string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of allowed) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined;
}

class Checker {
  readonly problems: { path: Path; message: string }[] = [];

  fail(p: Path, message: string): void {
    this.problems.push({ path: p, message });
  }

  /** A map with only the given fields; calls each field's check on what is present. */
  /** `hints`: what to say about fields that are not allowed but that a user may well write. */
  fields(v: unknown, p: Path, spec: Record<string, (value: unknown, at: Path) => void>, what: string, hints: Record<string, string> = {}): v is Record<string, unknown> {
    if (!isMap(v)) {
      this.fail(p, `must be a map (${what}), not ${describe(v)}`);
      return false;
    }
    const allowed = Object.keys(spec);
    for (const [k, value] of Object.entries(v)) {
      const check = spec[k];
      if (check) {
        check(value, [...p, k]);
        continue;
      }
      const close = suggestion(k, allowed);
      if (hints[k]) this.fail([...p, k], `unknown field: ${hints[k]}`);
      else if (close) this.fail([...p, k], `unknown field; did you mean "${close}"?`);
      else this.fail([...p, k], `unknown field (${what} takes ${allowed.join(', ')})`);
    }
    return true;
  }

  string(v: unknown, p: Path, pattern?: RegExp, patternText?: string): v is string {
    if (typeof v !== 'string' || v === '') {
      this.fail(p, `must be a non-empty string, not ${describe(v)}`);
      return false;
    }
    if (pattern && !pattern.test(v)) {
      this.fail(p, `"${v}" is not ${patternText}`);
      return false;
    }
    return true;
  }

  boolean(v: unknown, p: Path): void {
    if (typeof v !== 'boolean') this.fail(p, `must be true or false, not ${describe(v)}`);
  }

  count(v: unknown, p: Path): void {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(p, `must be a whole number, 0 or more (e.g. 1), not ${describe(v)}`);
  }

  oneOf(v: unknown, p: Path, allowed: readonly string[]): void {
    if (typeof v !== 'string' || !allowed.includes(v)) {
      const close = typeof v === 'string' ? suggestion(v, [...allowed]) : undefined;
      this.fail(p, `must be one of ${allowed.join(', ')}, not ${describe(v)}${close ? `; did you mean "${close}"?` : ''}`);
    }
  }

  /** A map of names to names (a mapping). */
  mapping(v: unknown, p: Path, pattern: RegExp, patternText: string, example: string): void {
    if (!isMap(v)) {
      this.fail(p, `must be a map of source to target names (e.g. ${example}), not ${describe(v)}`);
      return;
    }
    for (const [k, value] of Object.entries(v)) {
      if (!pattern.test(k)) this.fail([...p, k], `"${k}" is not ${patternText}`);
      this.string(value, [...p, k], pattern, patternText);
    }
  }

  /** A string or a list of strings (globs). */
  globs(v: unknown, p: Path): void {
    if (typeof v === 'string' && v !== '') return;
    if (Array.isArray(v) && v.length > 0) {
      v.forEach((item, i) => this.string(item, [...p, i]));
      return;
    }
    this.fail(p, `must be a name or glob, or a list of them (e.g. "shop-*"), not ${describe(v)}`);
  }

  match(v: unknown, p: Path): void {
    this.fields(
      v,
      p,
      {
        kind: (x, at) => this.globs(x, at),
        group: (x, at) => {
          if (typeof x !== 'string') this.fail(at, `must be an API group ("" for the core group, "apps", …), not ${describe(x)}`);
        },
        namespace: (x, at) => this.globs(x, at),
        name: (x, at) => this.globs(x, at),
        labels: (x, at) => {
          if (typeof x === 'string') {
            try {
              parseLabelSelector(x);
            } catch (e) {
              this.fail(at, (e as Error).message);
            }
          } else if (isMap(x)) {
            for (const [k, value] of Object.entries(x)) if (typeof value !== 'string') this.fail([...at, k], `must be a string (label values are strings; quote numbers), not ${describe(value)}`);
          } else this.fail(at, `must be a label selector ("app=web,tier!=cache") or a map of labels, not ${describe(x)}`);
        },
      },
      'a match rule',
    );
  }

  secretFrom(v: unknown, p: Path): void {
    this.fields(
      v,
      p,
      {
        name: (x, at) => this.string(x, at, DNS_SUBDOMAIN, 'a Secret name (lower case letters, digits, "-" and ".")'),
        namespace: (x, at) => this.string(x, at, DNS_LABEL, 'a namespace name (lower case letters, digits and "-")'),
      },
      'the Secret to take values from',
    );
    if (isMap(v) && v.name === undefined) this.fail(p, 'needs "name": the Secret on the target to take the values from');
  }

  /** `mode: fromSecret` needs a `from` beside it. */
  secretMode(v: Record<string, unknown>, p: Path): void {
    if (v.mode === 'fromSecret' && v.from === undefined) this.fail([...p, 'from'], 'is required with mode fromSecret (from: {name: SECRET, namespace: NS})');
  }

  jsonPatch(v: unknown, p: Path): void {
    if (!Array.isArray(v)) {
      this.fail(p, `must be a list of operations (- {op: replace, path: /spec/replicas, value: 1}), not ${describe(v)}`);
      return;
    }
    v.forEach((op, i) => {
      const at = [...p, i];
      const pointer = (x: unknown, where: Path) => {
        if (typeof x !== 'string') return this.fail(where, `must be a JSON pointer ("/metadata/labels/app", "" for the whole object), not ${describe(x)}`);
        try {
          parsePointer(x);
        } catch (e) {
          this.fail(where, (e as Error).message);
        }
      };
      const ok = this.fields(
        op,
        at,
        { op: (x, w) => this.oneOf(x, w, PATCH_OPS), path: pointer, value: () => undefined, from: pointer },
        'a JSON patch operation',
      );
      if (!ok) return;
      if (op.op === undefined) this.fail([...at, 'op'], `is required (one of ${PATCH_OPS.join(', ')})`);
      if (op.path === undefined) this.fail([...at, 'path'], 'is required (a JSON pointer such as /spec/replicas)');
      if (['add', 'replace', 'test'].includes(op.op as string) && !('value' in op)) this.fail([...at, 'value'], `is required for ${op.op as string}`);
      if (['move', 'copy'].includes(op.op as string) && op.from === undefined) this.fail([...at, 'from'], `is required for ${op.op as string} (the JSON pointer to take the value from)`);
    });
  }
}

/** Checks a parsed profile document; returns its problems (empty when valid). */
function check(doc: unknown): { path: Path; message: string }[] {
  const c = new Checker();
  const nsText = 'a namespace name (lower case letters, digits and "-", at most 63)';
  const classText = 'a class name (lower case letters, digits, "-" and ".")';
  c.fields(
    doc,
    [],
    {
      $schema: (x, at) => c.string(x, at),
      apiVersion: (x, at) => {
        if (x !== PROFILE_API_VERSION) c.fail(at, `must be ${PROFILE_API_VERSION} (or left out), not ${describe(x)}`);
      },
      kind: (x, at) => {
        if (x !== PROFILE_KIND) c.fail(at, `must be ${PROFILE_KIND} (or left out), not ${describe(x)}`);
      },
      description: (x, at) => {
        if (typeof x !== 'string') c.fail(at, `must be a string, not ${describe(x)}`);
      },
      extends: (x, at) => c.string(x, at),
      namespaceMapping: (x, at) => c.mapping(x, at, DNS_LABEL, nsText, '{shop: shop-dev}'),
      storageClassMapping: (x, at) => c.mapping(x, at, DNS_SUBDOMAIN, classText, '{gp3: standard}'),
      ingressClassMapping: (x, at) => c.mapping(x, at, DNS_SUBDOMAIN, classText, '{alb: nginx}'),
      imageRegistryMapping: (x, at) => {
        if (!isMap(x)) return c.fail(at, `must be a map of image prefixes to replacements (e.g. {"registry.prod.example.com/": "registry.dev.example.com/"}), not ${describe(x)}`);
        for (const [k, value] of Object.entries(x)) {
          if (k === '') c.fail(at, 'an image prefix must not be empty');
          c.string(value, [...at, k]);
        }
      },
      replicas: (x, at) => {
        c.fields(
          x,
          at,
          {
            default: (n, w) => c.count(n, w),
            rules: (rules, w) => {
              if (!Array.isArray(rules)) return c.fail(w, `must be a list of {match, replicas}, not ${describe(rules)}`);
              rules.forEach((r, i) => {
                if (c.fields(r, [...w, i], { match: (m, mw) => c.match(m, mw), replicas: (n, nw) => c.count(n, nw) }, 'a replicas rule')) {
                  if (r.match === undefined) c.fail([...w, i, 'match'], 'is required (which workloads the rule is for)');
                  if (r.replicas === undefined) c.fail([...w, i, 'replicas'], 'is required (the replica count)');
                }
              });
            },
          },
          'replicas',
        );
      },
      secrets: (x, at) => {
        const ok = c.fields(
          x,
          at,
          {
            mode: (m, w) => c.oneOf(m, w, SECRET_MODES),
            from: (f, w) => c.secretFrom(f, w),
            rules: (rules, w) => {
              if (!Array.isArray(rules)) return c.fail(w, `must be a list of {match, mode, from}, not ${describe(rules)}`);
              rules.forEach((r, i) => {
                const ok = c.fields(
                  r,
                  [...w, i],
                  { match: (m, mw) => c.match(m, mw), mode: (m, mw) => c.oneOf(m, mw, SECRET_MODES), from: (f, fw) => c.secretFrom(f, fw) },
                  'a Secret rule',
                );
                if (!ok) return;
                if (r.mode === undefined) c.fail([...w, i, 'mode'], `is required (one of ${SECRET_MODES.join(', ')})`);
                c.secretMode(r, [...w, i]);
              });
            },
          },
          'secrets',
        );
        if (ok) c.secretMode(x, at);
      },
      dropNodeSelectors: (x, at) => c.boolean(x, at),
      dropAffinity: (x, at) => c.boolean(x, at),
      dropTolerations: (x, at) => c.boolean(x, at),
      dropCloudAnnotations: (x, at) => c.boolean(x, at),
      dropAnnotations: (x, at) => {
        if (!Array.isArray(x)) return c.fail(at, `must be a list of annotation keys or globs (e.g. - "example.com/*"), not ${describe(x)}`);
        x.forEach((k, i) => c.string(k, [...at, i]));
      },
      serviceTypes: (x, at) => {
        if (!isMap(x)) return c.fail(at, `must be a map of Service types to types (e.g. {LoadBalancer: ClusterIP}), not ${describe(x)}`);
        for (const [k, value] of Object.entries(x)) {
          if (!SERVICE_TYPES.includes(k)) c.fail([...at, k], `is not a Service type that can be changed (${SERVICE_TYPES.join(', ')})`);
          c.oneOf(value, [...at, k], SERVICE_TYPES);
        }
      },
      patches: (x, at) => {
        if (!Array.isArray(x)) return c.fail(at, `must be a list of {match, jsonPatch, mergePatch}, not ${describe(x)}`);
        x.forEach((r, i) => {
          const ok = c.fields(
            r,
            [...at, i],
            {
              match: (m, w) => c.match(m, w),
              jsonPatch: (ops, w) => c.jsonPatch(ops, w),
              mergePatch: (m, w) => {
                if (!isMap(m)) c.fail(w, `must be a map (an RFC 7386 merge patch; null removes a field), not ${describe(m)}`);
              },
            },
            'a patch rule',
          );
          if (ok && r.jsonPatch === undefined && r.mergePatch === undefined) c.fail([...at, i], 'needs jsonPatch or mergePatch (or both)');
        });
      },
      existing: (x, at) => c.oneOf(x, at, EXISTING),
    },
    'a restore profile',
    { name: 'a profile is named by its file (NAME.yaml)', metadata: 'a profile is named by its file (NAME.yaml)' },
  );
  return c.problems;
}

/**
 * Parses and validates a profile's YAML (or JSON) text. Throws ProfileError
 * naming the file, each bad field by path and line, and what it takes.
 * `extends` is kept as written: loadProfile resolves it.
 */
export function parseProfile(text: string, name: string, file?: string): RestoreProfile {
  const where = file ?? `profile ${name}`;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lines.linePos(e.pos[0]);
    throw new ProfileError(`${where}:${pos.line}:${pos.col}: not valid YAML: ${e.message.split('\n')[0]}`, file);
  }
  const value: unknown = doc.toJS() ?? {};
  /** The line of the field, or of the nearest enclosing one that is written (a missing field's map). */
  const lineOf = (p: Path): number | undefined => {
    for (let n = p.length; n > 0; n--) {
      const range = (doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined)?.range;
      if (range) return lines.linePos(range[0]).line;
    }
    return undefined;
  };
  const problems = check(value);
  if (problems.length > 0) {
    const described = problems.map((p) => ({ path: formatPath(p.path), message: p.message, line: lineOf(p.path) }));
    throw new ProfileError(
      described.length === 1
        ? `${where}${described[0].line ? `:${described[0].line}` : ''}: ${described[0].path}: ${described[0].message}`
        : `${where}: ${described.length} problems:\n${described.map((d) => `  ${d.line ? `line ${d.line}: ` : ''}${d.path}: ${d.message}`).join('\n')}`,
      file,
      described.map(({ path: p, message }) => ({ path: p, message })),
    );
  }
  const { $schema: _s, apiVersion: _a, kind: _k, ...fields } = value as Record<string, unknown>;
  return { ...(fields as Omit<RestoreProfile, 'name'>), name };
}

// ---------------------------------------------------------------------------
// Merging (`extends`)

const mergeMaps = <T>(base: Record<string, T> | undefined, over: Record<string, T> | undefined) =>
  base || over ? { ...base, ...over } : undefined;
/** Rules are matched first-wins, so the extending profile's come first. */
const rulesFirst = <T>(over: T[] | undefined, base: T[] | undefined) => (over || base ? [...(over ?? []), ...(base ?? [])] : undefined);

/** `over` on top of `base`: maps merged key by key, rule lists with `over`'s first, patches appended, scalars overridden. */
function mergeProfiles(base: RestoreProfile, over: RestoreProfile): RestoreProfile {
  const merged: RestoreProfile = { ...base, ...over };
  merged.namespaceMapping = mergeMaps(base.namespaceMapping, over.namespaceMapping);
  merged.storageClassMapping = mergeMaps(base.storageClassMapping, over.storageClassMapping);
  merged.ingressClassMapping = mergeMaps(base.ingressClassMapping, over.ingressClassMapping);
  merged.imageRegistryMapping = mergeMaps(base.imageRegistryMapping, over.imageRegistryMapping);
  merged.serviceTypes = mergeMaps(base.serviceTypes, over.serviceTypes);
  if (base.replicas || over.replicas) {
    merged.replicas = { ...base.replicas, ...over.replicas, rules: rulesFirst(over.replicas?.rules, base.replicas?.rules) };
  }
  if (base.secrets || over.secrets) {
    merged.secrets = { ...base.secrets, ...over.secrets, rules: rulesFirst(over.secrets?.rules, base.secrets?.rules) };
  }
  if (base.dropAnnotations || over.dropAnnotations) merged.dropAnnotations = [...new Set([...(base.dropAnnotations ?? []), ...(over.dropAnnotations ?? [])])];
  if (base.patches || over.patches) merged.patches = [...(base.patches ?? []), ...(over.patches ?? [])];
  // Drop the keys the spreads left undefined, so a merged profile compares equal to one written out in full.
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete (merged as unknown as Record<string, unknown>)[k];
  for (const part of [merged.replicas, merged.secrets]) if (part && part.rules === undefined) delete part.rules;
  return merged;
}

// ---------------------------------------------------------------------------
// Files

const EXTENSIONS = ['.yaml', '.yml', '.json'];

const exists = (file: string) =>
  fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );

/** The file of a named profile in a folder, or undefined. Two files for one name are refused: which one is meant is not clear. */
async function findProfileFile(dir: string, name: string): Promise<string | undefined> {
  const found: string[] = [];
  for (const ext of EXTENSIONS) if (await exists(path.join(dir, name + ext))) found.push(path.join(dir, name + ext));
  if (found.length > 1) throw new ProfileError(`profile ${name} is defined twice, by ${found.join(' and ')}: remove one`, found[0]);
  return found[0];
}

async function profileNamesIn(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
  const names = entries.filter((f) => EXTENSIONS.includes(path.extname(f))).map((f) => f.slice(0, -path.extname(f).length));
  return [...new Set(names)].sort();
}

function nameOfFile(file: string): string {
  return path.basename(file, path.extname(file));
}

async function readProfileFile(file: string): Promise<RestoreProfile> {
  const name = nameOfFile(file);
  if (isBuiltIn(name)) {
    throw new ProfileError(`${file}: "${name}" is the name of a built-in profile; rename the file (it can start from the built-in one with "extends: ${name}")`, file);
  }
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new ProfileError(`cannot read profile ${file}: ${(e as Error).message}`, file);
  }
  return parseProfile(text, name, file);
}

/** A profile with its `extends` chain resolved (built-ins, or files in the same folder); a cycle is refused. */
async function resolveExtends(profile: RestoreProfile, dir: string, file: string | undefined, chain: string[]): Promise<RestoreProfile> {
  if (!profile.extends) return profile;
  const parentName = profile.extends;
  const names = [...chain, profile.name];
  if (names.includes(parentName)) {
    throw new ProfileError(`${file ?? `profile ${profile.name}`}: extends: ${[...names, parentName].join(' → ')} is a cycle; one of them must not extend another`, file);
  }
  let parent: RestoreProfile;
  let parentFile: string | undefined;
  if (isBuiltIn(parentName)) parent = structuredClone(BUILTIN_PROFILES[parentName]) as RestoreProfile;
  else {
    parentFile = await findProfileFile(dir, parentName);
    if (!parentFile) {
      throw new ProfileError(
        `${file ?? `profile ${profile.name}`}: extends: no profile "${parentName}": it is not built in (dr, dev) and ${dir} has no ${parentName}.yaml${await availableText(dir)}`,
        file,
      );
    }
    parent = await resolveExtends(await readProfileFile(parentFile), dir, parentFile, names);
  }
  const merged = mergeProfiles(parent, profile);
  merged.name = profile.name;
  merged.extends = parentName;
  return merged;
}

async function availableText(dir: string): Promise<string> {
  const names = ['dr', 'dev', ...(await profileNamesIn(dir))];
  return `; the profiles are ${names.join(', ')}`;
}

const looksLikePath = (spec: string) => /[/\\]/.test(spec) || EXTENSIONS.includes(path.extname(spec));

/**
 * The profile a restore uses: a built-in name (`dr`, the default, or `dev`),
 * the name of a file in the profiles folder, or a file's path. `extends` is
 * resolved. Throws ProfileError naming what is wrong and what exists.
 */
export async function loadProfile(spec: string | undefined, profilesDir: string = defaultProfilesDir()): Promise<RestoreProfile> {
  const wanted = spec?.trim() || 'dr';
  if (isBuiltIn(wanted)) return structuredClone(BUILTIN_PROFILES[wanted]) as RestoreProfile;
  if (looksLikePath(wanted)) {
    const file = path.resolve(wanted);
    if (!(await exists(file))) throw new ProfileError(`profile file ${file} does not exist`, file);
    return resolveExtends(await readProfileFile(file), path.dirname(file), file, []);
  }
  const file = await findProfileFile(profilesDir, wanted);
  if (!file) {
    const names = ['dr', 'dev', ...(await profileNamesIn(profilesDir))];
    const close = suggestion(wanted, names);
    throw new ProfileError(
      `no restore profile "${wanted}": not built in and no ${wanted}.yaml in ${profilesDir}` +
        (close ? `; did you mean "${close}"?` : '') +
        ` (the profiles are ${names.join(', ')})`,
    );
  }
  return resolveExtends(await readProfileFile(file), profilesDir, file, []);
}

/** The built-in profiles, then the folder's by name; a file that does not load is listed with its error. */
export async function listProfiles(profilesDir: string = defaultProfilesDir()): Promise<RestoreProfileInfo[]> {
  const out: RestoreProfileInfo[] = Object.values(BUILTIN_PROFILES).map((p) => ({ name: p.name, description: p.description, builtIn: true }));
  const entries = await fs.readdir(profilesDir).catch(() => [] as string[]);
  // By profile name, then extension (so "staging" comes before "staging-eu").
  const files = entries
    .filter((f) => EXTENSIONS.includes(path.extname(f)))
    .sort((a, b) => nameOfFile(a).localeCompare(nameOfFile(b)) || EXTENSIONS.indexOf(path.extname(a)) - EXTENSIONS.indexOf(path.extname(b)));
  for (const f of files) {
    const file = path.join(profilesDir, f);
    const name = nameOfFile(file);
    try {
      if (!(await exists(file))) continue;
      const p = await resolveExtends(await readProfileFile(file), profilesDir, file, []);
      // Two files for one name: the second is listed as the error it is.
      if (out.some((o) => o.name === name)) throw new ProfileError(`profile ${name} is defined twice: remove ${f} or rename it`, file);
      // The mapping lets a restore prompt start from what the profile maps.
      const mapping = p.namespaceMapping && Object.keys(p.namespaceMapping).length ? { namespaceMapping: p.namespaceMapping } : {};
      out.push({ name, description: p.description, file, builtIn: false, ...mapping });
    } catch (e) {
      out.push({ name, file, builtIn: false, error: (e as Error).message });
    }
  }
  return out;
}

/** The profile with more namespace mappings on top of its own (the CLI's --namespace-mapping); a name that cannot be a namespace is refused. */
export function withNamespaceMapping(p: RestoreProfile, extra?: Record<string, string>): RestoreProfile {
  if (!extra || Object.keys(extra).length === 0) return p;
  for (const [from, to] of Object.entries(extra)) {
    for (const n of [from, to]) {
      if (!DNS_LABEL.test(n)) throw new ProfileError(`namespace mapping ${from}:${to}: "${n}" is not a namespace name (lower case letters, digits and "-", at most 63)`);
    }
  }
  return { ...p, namespaceMapping: { ...p.namespaceMapping, ...extra } };
}
