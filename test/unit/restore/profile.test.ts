import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_PROFILES, listProfiles, loadProfile, parseProfile, ProfileError, withNamespaceMapping } from '../../../src/engine/restore/profile';

const ROOT = path.join(__dirname, '..', '..', '..');
const SCHEMA_FILE = path.join(ROOT, 'schemas', 'restore-profile.schema.json');

const FULL = `
apiVersion: lifeboat.dev/v1
kind: RestoreProfile
description: Staging copy of the shop
namespaceMapping: {shop: shop-staging}
storageClassMapping: {gp3: standard}
ingressClassMapping: {alb: nginx}
imageRegistryMapping: {"registry.prod.example.com/": "registry.staging.example.com/"}
replicas:
  default: 1
  rules:
    - match: {kind: StatefulSet, name: "db-*"}
      replicas: 0
secrets:
  mode: placeholder
  rules:
    - match: {name: tls-*, labels: "app=web"}
      mode: copy
    - match: {name: payment}
      mode: fromSecret
      from: {name: payment-sandbox, namespace: vault}
dropNodeSelectors: true
dropAffinity: true
dropTolerations: false
dropCloudAnnotations: true
dropAnnotations: ["example.com/*"]
serviceTypes: {LoadBalancer: NodePort}
patches:
  - match: {kind: Deployment, labels: {app: web}}
    jsonPatch:
      - {op: test, path: /spec/replicas, value: 1}
      - {op: add, path: /metadata/labels/env, value: staging}
      - {op: move, from: /metadata/labels/a, path: /metadata/labels/b}
    mergePatch: {spec: {paused: null}}
existing: update
`;

async function tempDir(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-profiles-'));
  for (const [name, text] of Object.entries(files)) await fs.writeFile(path.join(dir, name), text);
  return dir;
}

function problem(fn: () => unknown): ProfileError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProfileError, `expected a ProfileError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the profile to be refused');
}

async function rejected(p: Promise<unknown>): Promise<ProfileError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ProfileError, `expected a ProfileError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the profile to be refused');
}

describe('restore profiles', function () {
  describe('built-in', function () {
    it('dr changes nothing and dev makes a cheap, harmless copy', function () {
      const { name, description: _d, ...dr } = BUILTIN_PROFILES.dr;
      assert.equal(name, 'dr');
      assert.deepEqual(dr, {});
      const dev = BUILTIN_PROFILES.dev;
      assert.deepEqual(dev.replicas, { default: 1 });
      assert.deepEqual(dev.secrets, { mode: 'placeholder' });
      assert.deepEqual(dev.serviceTypes, { LoadBalancer: 'ClusterIP', NodePort: 'ClusterIP' });
      assert.ok(dev.dropCloudAnnotations && dev.dropNodeSelectors && dev.dropAffinity && dev.dropTolerations);
    });

    it('cannot be changed through what loadProfile returns', async function () {
      const dev = await loadProfile('dev');
      dev.replicas!.default = 5;
      assert.equal(BUILTIN_PROFILES.dev.replicas!.default, 1);
      assert.throws(() => {
        (BUILTIN_PROFILES.dev.replicas as { default: number }).default = 2;
      }, TypeError);
    });
  });

  describe('parseProfile', function () {
    it('reads every field, without apiVersion and kind, named by the file', function () {
      const p = parseProfile(FULL, 'staging', '/ws/.lifeboat/profiles/staging.yaml');
      assert.equal(p.name, 'staging');
      assert.equal((p as unknown as Record<string, unknown>).apiVersion, undefined);
      assert.deepEqual(p.namespaceMapping, { shop: 'shop-staging' });
      assert.equal(p.secrets?.rules?.[1].from?.name, 'payment-sandbox');
      assert.equal(p.patches?.[0].jsonPatch?.length, 3);
      assert.equal(p.existing, 'update');
    });

    it('reads an empty file as a profile that changes nothing', function () {
      assert.deepEqual(parseProfile('', 'empty'), { name: 'empty' });
      assert.deepEqual(parseProfile('# nothing yet\n', 'empty'), { name: 'empty' });
    });

    it('refuses an unknown field, suggesting the close one and listing what is allowed, with file and line', function () {
      const e = problem(() => parseProfile('description: x\nnamespaceMaping: {a: b}\n', 'dev2', '/p/dev2.yaml'));
      assert.equal(e.message, '/p/dev2.yaml:2: namespaceMaping: unknown field; did you mean "namespaceMapping"?');
      assert.match(problem(() => parseProfile('colour: red\n', 'x')).message, /colour: unknown field \(a restore profile takes .*storageClassMapping/);
      assert.match(problem(() => parseProfile('replicas: {defualt: 1}\n', 'x')).message, /replicas\.defualt: unknown field; did you mean "default"\?/);
      assert.deepEqual(e.problems.map((p) => p.path), ['namespaceMaping']);
      assert.equal(e.file, '/p/dev2.yaml');
    });

    it('names the nested field path of a bad value and what it takes', function () {
      const e = problem(() => parseProfile('replicas:\n  rules:\n    - match: {kind: Deployment}\n      replicas: -1\n', 'x', 'x.yaml'));
      assert.match(e.message, /x\.yaml:4: replicas\.rules\[0\]\.replicas: must be a whole number, 0 or more/);
      const m = problem(() => parseProfile('secrets: {mode: placehold}', 'x'));
      assert.match(m.message, /secrets\.mode: must be one of copy, skip, placeholder, fromSecret.*did you mean "placeholder"/);
    });

    it('lists every problem of a file, not only the first', function () {
      const e = problem(() => parseProfile('dropAffinity: yes please\nexisting: merge\nserviceTypes: {LoadBalancer: External}\n', 'x'));
      assert.deepEqual(
        e.problems.map((p) => p.path),
        ['dropAffinity', 'existing', 'serviceTypes.LoadBalancer'],
      );
      assert.match(e.message, /^profile x: 3 problems:\n {2}line 1: dropAffinity: must be true or false.*\n {2}line 2: existing: .*\n {2}line 3: serviceTypes\.LoadBalancer: /);
    });

    it('checks apiVersion and kind when they are given', function () {
      assert.match(problem(() => parseProfile('apiVersion: lifeboat.dev/v2\n', 'x')).message, /apiVersion: must be lifeboat\.dev\/v1/);
      assert.match(problem(() => parseProfile('kind: Profile\n', 'x')).message, /kind: must be RestoreProfile/);
    });

    it('says a profile is named by its file when given a name field', function () {
      assert.match(problem(() => parseProfile('name: other\n', 'x')).message, /name: unknown field: a profile is named by its file/);
    });

    it('reports YAML syntax errors with line and column', function () {
      assert.match(problem(() => parseProfile('a: [1, 2\nb: c', 'x', 'x.yaml')).message, /^x\.yaml:\d+:\d+: not valid YAML/);
      assert.match(problem(() => parseProfile('existing: skip\nexisting: update\n', 'x', 'x.yaml')).message, /x\.yaml:2:\d+: not valid YAML/);
    });

    it('refuses a top level that is not a map', function () {
      assert.match(problem(() => parseProfile('- a\n- b\n', 'x')).message, /must be a map \(a restore profile\), not a list/);
    });

    it('checks label selectors, namespace names, JSON pointers and what each patch operation needs', function () {
      assert.match(problem(() => parseProfile('patches: [{match: {labels: "app in (a"}, mergePatch: {}}]', 'x')).message, /patches\[0\]\.match\.labels: label selector/);
      assert.match(problem(() => parseProfile('namespaceMapping: {shop: Shop_Dev}', 'x')).message, /namespaceMapping\.shop: "Shop_Dev" is not a namespace name/);
      assert.match(problem(() => parseProfile('patches: [{jsonPatch: [{op: add, path: spec/x, value: 1}]}]', 'x')).message, /patches\[0\]\.jsonPatch\[0\]\.path: .*must be empty or start with "\/"/);
      assert.match(problem(() => parseProfile('patches:\n  - jsonPatch:\n      - {op: replace, path: /spec/x}\n', 'x', 'x.yaml')).message, /^x\.yaml:3: patches\[0\]\.jsonPatch\[0\]\.value: is required for replace/);
      assert.match(problem(() => parseProfile('patches: [{jsonPatch: [{op: copy, path: /spec/x}]}]', 'x')).message, /jsonPatch\[0\]\.from: is required for copy/);
      assert.match(problem(() => parseProfile('patches: [{match: {kind: Secret}}]', 'x')).message, /patches\[0\]: needs jsonPatch or mergePatch/);
      assert.match(problem(() => parseProfile('secrets: {mode: fromSecret}', 'x')).message, /secrets\.from: is required with mode fromSecret/);
      assert.match(problem(() => parseProfile('secrets: {rules: [{match: {name: a}}]}', 'x')).message, /secrets\.rules\[0\]\.mode: is required/);
    });
  });

  describe('loadProfile and listProfiles', function () {
    let dir: string;
    before(async function () {
      dir = await tempDir({
        'staging.yaml': 'extends: dev\ndescription: staging\nnamespaceMapping: {shop: shop-staging}\nreplicas: {rules: [{match: {name: db}, replicas: 2}]}\nsecrets: {rules: [{match: {name: tls}, mode: copy}]}\npatches: [{mergePatch: {metadata: {labels: {env: staging}}}}]\n',
        'staging-eu.yml': 'extends: staging\nnamespaceMapping: {billing: billing-eu}\nreplicas: {default: 2, rules: [{match: {name: web}, replicas: 3}]}\ndropAnnotations: ["a/*"]\npatches: [{mergePatch: {metadata: {labels: {region: eu}}}}]\n',
        'loop-a.yaml': 'extends: loop-b\n',
        'loop-b.yaml': 'extends: loop-a\n',
        'orphan.yaml': 'extends: nowhere\n',
        'broken.yaml': 'replicas: {default: many}\n',
        'dr.yaml': 'description: mine\n',
        'notes.txt': 'not a profile',
      });
    });
    after(async function () {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('loads dr when nothing is asked for, and the built-ins by name', async function () {
      assert.equal((await loadProfile(undefined, dir)).name, 'dr');
      assert.equal((await loadProfile('dev', dir)).replicas?.default, 1);
    });

    it('resolves extends: maps merged, rules of the extending profile first, patches appended, scalars overridden', async function () {
      const p = await loadProfile('staging-eu', dir);
      assert.equal(p.name, 'staging-eu');
      assert.equal(p.extends, 'staging');
      assert.equal(p.description, 'staging');
      assert.deepEqual(p.namespaceMapping, { shop: 'shop-staging', billing: 'billing-eu' });
      assert.deepEqual(p.replicas, { default: 2, rules: [{ match: { name: 'web' }, replicas: 3 }, { match: { name: 'db' }, replicas: 2 }] });
      assert.deepEqual(p.secrets, { mode: 'placeholder', rules: [{ match: { name: 'tls' }, mode: 'copy' }] });
      assert.deepEqual(
        p.patches?.map((r) => r.mergePatch),
        [{ metadata: { labels: { env: 'staging' } } }, { metadata: { labels: { region: 'eu' } } }],
      );
      assert.deepEqual(p.serviceTypes, BUILTIN_PROFILES.dev.serviceTypes);
      assert.deepEqual(p.dropAnnotations, ['a/*']);
      assert.equal(p.dropTolerations, true);
    });

    it('loads a profile by path, resolving extends among its siblings', async function () {
      const p = await loadProfile(path.join(dir, 'staging-eu.yml'), '/nonexistent');
      assert.deepEqual(p.namespaceMapping, { shop: 'shop-staging', billing: 'billing-eu' });
    });

    it('refuses a cycle of extends, naming it', async function () {
      const e = await rejected(loadProfile('loop-a', dir));
      assert.match(e.message, /extends: loop-a → loop-b → loop-a is a cycle/);
    });

    it('refuses to extend a profile that does not exist, listing those that do', async function () {
      const e = await rejected(loadProfile('orphan', dir));
      assert.match(e.message, /orphan\.yaml: extends: no profile "nowhere".*the profiles are dr, dev, .*staging/);
    });

    it('names the close profile when asked for one that does not exist', async function () {
      const e = await rejected(loadProfile('stagign', dir));
      assert.match(e.message, /no restore profile "stagign".*did you mean "staging"\?/);
      await rejected(loadProfile('./missing.yaml', dir));
    });

    it('refuses a file that takes the name of a built-in profile', async function () {
      const infos = await listProfiles(dir);
      assert.match(infos.find((i) => i.file?.endsWith('dr.yaml'))!.error!, /name of a built-in profile; rename the file/);
    });

    it('lists built-ins first, then files by name, a broken file with its error', async function () {
      const infos = await listProfiles(dir);
      assert.deepEqual(
        infos.map((i) => i.name),
        ['dr', 'dev', 'broken', 'dr', 'loop-a', 'loop-b', 'orphan', 'staging', 'staging-eu'],
      );
      assert.deepEqual(infos[0], { name: 'dr', description: BUILTIN_PROFILES.dr.description, builtIn: true });
      const staging = infos.find((i) => i.name === 'staging')!;
      assert.deepEqual(staging, { name: 'staging', description: 'staging', file: path.join(dir, 'staging.yaml'), builtIn: false, namespaceMapping: { shop: 'shop-staging' } });
      assert.deepEqual(infos.find((i) => i.name === 'staging-eu')!.namespaceMapping, { shop: 'shop-staging', billing: 'billing-eu' }, 'the mapping after extends');
      assert.match(infos.find((i) => i.name === 'broken')!.error!, /broken\.yaml:1: replicas\.default: must be a whole number/);
      assert.ok(infos.find((i) => i.name === 'loop-a')!.error);
    });

    it('lists only the built-ins when the folder does not exist', async function () {
      assert.deepEqual(
        (await listProfiles(path.join(dir, 'nope'))).map((i) => i.name),
        ['dr', 'dev'],
      );
    });
  });

  describe('withNamespaceMapping', function () {
    it('adds mappings over the profile’s own, leaving the profile untouched', function () {
      const p = parseProfile('namespaceMapping: {shop: shop-dev, ops: ops-dev}', 'x');
      const q = withNamespaceMapping(p, { shop: 'shop-test' });
      assert.deepEqual(q.namespaceMapping, { shop: 'shop-test', ops: 'ops-dev' });
      assert.deepEqual(p.namespaceMapping, { shop: 'shop-dev', ops: 'ops-dev' });
      assert.equal(withNamespaceMapping(p), p);
    });

    it('refuses a name that cannot be a namespace', function () {
      assert.throws(() => withNamespaceMapping(BUILTIN_PROFILES.dr, { shop: 'Shop' }), /"Shop" is not a namespace name/);
    });
  });

  describe('the JSON schema', function () {
    let validate: (doc: unknown) => boolean;
    before(async function () {
      const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
      validate = ajv.compile(JSON.parse(await fs.readFile(SCHEMA_FILE, 'utf8')));
    });

    const valid = [
      FULL,
      '',
      'extends: dev\n',
      '$schema: ../../schemas/restore-profile.schema.json\ndescription: ""\n',
      'replicas: {default: 0}',
      'secrets: {mode: skip, rules: [{mode: copy}]}',
      'secrets: {mode: fromSecret, from: {name: shared-creds}}',
      'patches: [{jsonPatch: [{op: remove, path: /spec/template/spec/nodeSelector}, {op: add, path: /metadata/labels/a~1b, value: x}, {op: add, path: "", value: {}}]}]',
      'patches: [{match: {kind: [Deployment, StatefulSet], group: apps, namespace: "shop-*", labels: {app: web}}, mergePatch: {}}]',
      'serviceTypes: {NodePort: ClusterIP, LoadBalancer: NodePort}',
      'imageRegistryMapping: {"docker.io/": "mirror.example.com/"}',
      'dropAnnotations: ["*.example.com/*"]',
    ];
    const invalid = [
      'namespaceMaping: {a: b}',
      'name: x',
      'apiVersion: v1',
      'kind: Deployment',
      'replicas: {default: 1.5}',
      'replicas: {default: -1}',
      'replicas: {rules: [{match: {name: a}}]}',
      'replicas: {rules: [{replicas: 1}]}',
      'secrets: {mode: mask}',
      'secrets: {mode: fromSecret}',
      'secrets: {rules: [{mode: fromSecret, match: {name: a}}]}',
      'secrets: {from: {namespace: x}}',
      'secrets: {rules: [{match: {name: a}}]}',
      'dropAffinity: "true"',
      'dropAnnotations: example.com/*',
      'dropAnnotations: [""]',
      'serviceTypes: {LoadBalancer: ExternalName}',
      'serviceTypes: {ExternalName: ClusterIP}',
      'namespaceMapping: {shop: Shop}',
      'namespaceMapping: {Shop: shop}',
      'namespaceMapping: {shop: 1}',
      'storageClassMapping: {gp3: ""}',
      'imageRegistryMapping: {"": "x/"}',
      'patches: [{match: {kind: Secret}}]',
      'patches: [{jsonPatch: [{op: add, path: /a}]}]',
      'patches: [{jsonPatch: [{op: move, path: /a}]}]',
      'patches: [{jsonPatch: [{op: merge, path: /a}]}]',
      'patches: [{jsonPatch: [{op: remove, path: a/b}]}]',
      'patches: [{jsonPatch: [{op: remove, path: /a~2}]}]',
      'patches: [{jsonPatch: [{op: remove}]}]',
      'patches: [{mergePatch: [1]}]',
      'patches: [{mergePatch: {}, match: {colour: red}}]',
      'patches: [{mergePatch: {}, match: {kind: []}}]',
      'patches: [{mergePatch: {}, match: {labels: {app: 1}}}]',
      'existing: overwrite',
      'extends: ""',
      '- a',
    ];

    for (const text of valid) {
      it(`and parseProfile both accept ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}`, function () {
        assert.ok(validate(parseYaml(text) ?? {}), 'the schema refuses it');
        parseProfile(text, 'x');
      });
    }
    for (const text of invalid) {
      it(`and parseProfile both refuse ${JSON.stringify(text)}`, function () {
        assert.ok(!validate(parseYaml(text) ?? {}), 'the schema accepts it');
        problem(() => parseProfile(text, 'x'));
      });
    }

    it('is what package.json associates with profile files, for JSON and YAML', async function () {
      const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8'));
      const urls = [...pkg.contributes.jsonValidation, ...pkg.contributes.yamlValidation]
        .filter((v: { fileMatch: string | string[] }) => [v.fileMatch].flat().some((m) => m.includes('.lifeboat/profiles/')))
        .map((v: { url: string }) => path.resolve(ROOT, v.url));
      assert.deepEqual(urls, [SCHEMA_FILE, SCHEMA_FILE]);
      const matches = [...pkg.contributes.jsonValidation, ...pkg.contributes.yamlValidation].flatMap((v: { fileMatch: string | string[] }) => [v.fileMatch].flat());
      for (const ext of ['json', 'yaml', 'yml']) assert.ok(matches.includes(`**/.lifeboat/profiles/*.${ext}`), ext);
    });
  });
});
