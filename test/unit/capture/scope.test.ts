import { strict as assert } from 'node:assert';
import { UnknownKindError, closeMatches, globMatch, kindFilter, namespaceInScope, resolveKinds } from '../../../src/engine/capture/scope';
import { qualifiedName } from '../../../src/engine/kube/types';
import { DISCOVERY } from './objects';

const resolved = (...kinds: string[]): string[] => resolveKinds(kinds, DISCOVERY, 'test').map(qualifiedName).sort();

describe('capture scope', function () {
  it('matches namespace globs with * and ?, everything else literally', function () {
    assert.ok(globMatch('team-*', 'team-a'));
    assert.ok(globMatch('team-*', 'team-'));
    assert.ok(!globMatch('team-*', 'teams'));
    assert.ok(globMatch('db-?', 'db-1'));
    assert.ok(!globMatch('db-?', 'db-10'));
    assert.ok(!globMatch('a.b', 'axb'));
    assert.ok(globMatch('*', 'anything'));
  });

  it('takes a namespace when an include pattern matches and no exclude pattern does', function () {
    const scope = { namespaces: ['team-*', 'shop'], excludeNamespaces: ['team-old*'] };
    assert.ok(namespaceInScope(scope, 'shop'));
    assert.ok(namespaceInScope(scope, 'team-a'));
    assert.ok(!namespaceInScope(scope, 'team-old-1'));
    assert.ok(!namespaceInScope(scope, 'billing'));
    assert.ok(namespaceInScope({ excludeNamespaces: ['kube-*'] }, 'billing'));
    assert.ok(!namespaceInScope({ excludeNamespaces: ['kube-*'] }, 'kube-system'));
  });

  it('knows a kind by Kind, plural, plural.group, Kind.group and short name, in any case', function () {
    for (const name of ['Deployment', 'deployments', 'deployments.apps', 'Deployment.apps', 'deploy', 'DEPLOY']) assert.deepEqual(resolved(name), ['deployments.apps'], name);
    assert.deepEqual(resolved('bp'), ['backuppolicies.shop.example.com']);
    assert.deepEqual(resolved('BackupPolicy'), ['backuppolicies.shop.example.com']);
    assert.deepEqual(resolved('cm', 'Secret'), ['configmaps', 'secrets']);
  });

  it('takes a name served by two groups to mean both, and plural.group to mean one', function () {
    assert.deepEqual(resolved('events'), ['events', 'events.events.k8s.io']);
    assert.deepEqual(resolved('events.events.k8s.io'), ['events.events.k8s.io']);
  });

  it('refuses an unknown kind, naming it and suggesting close matches', function () {
    assert.throws(
      () => resolveKinds(['deploymnets'], DISCOVERY, 'sandbox-prod'),
      (err: unknown) => err instanceof UnknownKindError && /unknown kind "deploymnets"/.test(err.message) && /sandbox-prod/.test(err.message) && /did you mean deployments\.apps/.test(err.message),
    );
    assert.deepEqual(closeMatches('secret', DISCOVERY), ['secrets']);
    assert.deepEqual(closeMatches('ingres', DISCOVERY), ['ingresses.networking.k8s.io']);
    assert.throws(() => resolveKinds(['zzzzqqq'], DISCOVERY, 'c'), /unknown kind "zzzzqqq".*kubectl api-resources/);
  });

  it('filters resources by include and exclude lists, exclude winning', function () {
    const f = kindFilter({ includeKinds: ['deploy', 'cm', 'svc'], excludeKinds: ['services'] }, DISCOVERY, 'c');
    const kept = DISCOVERY.filter((r) => f.includes(r)).map(qualifiedName);
    assert.deepEqual(kept.sort(), ['configmaps', 'deployments.apps']);
    const all = kindFilter({ excludeKinds: ['Secret'] }, DISCOVERY, 'c');
    assert.ok(DISCOVERY.filter((r) => r.resource !== 'secrets').every((r) => all.includes(r)));
    assert.ok(!all.includes({ group: '', resource: 'secrets' }));
  });
});
