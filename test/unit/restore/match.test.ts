import { strict as assert } from 'node:assert';
import { matchesRule } from '../../../src/engine/restore/match';
import { obj } from '../capture/objects';

describe('profile match rules', function () {
  const web = obj('apps/v1', 'Deployment', 'web-frontend', 'shop', { labels: { app: 'web', tier: 'front' } });
  const ns = obj('v1', 'Namespace', 'shop');

  it('matches everything without a rule or with an empty one', function () {
    assert.ok(matchesRule(undefined, web));
    assert.ok(matchesRule({}, ns));
  });

  it('matches kinds, namespaces and names by glob, one of a list', function () {
    assert.ok(matchesRule({ kind: 'Deployment' }, web));
    assert.ok(matchesRule({ kind: ['StatefulSet', 'Deploy*'] }, web));
    assert.ok(!matchesRule({ kind: 'deployment' }, web), 'kinds are case-sensitive, as the API writes them');
    assert.ok(matchesRule({ namespace: 'sh?p', name: 'web-*' }, web));
    assert.ok(!matchesRule({ namespace: ['billing', 'ops-*'] }, web));
    assert.ok(!matchesRule({ name: 'web' }, web));
  });

  it('matches the API group exactly, "" being the core group', function () {
    assert.ok(matchesRule({ group: 'apps' }, web));
    assert.ok(matchesRule({ group: '' }, ns));
    assert.ok(!matchesRule({ group: '' }, web));
  });

  it('never matches a cluster-scoped object by namespace', function () {
    assert.ok(!matchesRule({ namespace: '*' }, ns));
  });

  it('matches labels by selector text or by a map of equal labels', function () {
    assert.ok(matchesRule({ labels: 'app=web,tier in (front,back),!legacy' }, web));
    assert.ok(!matchesRule({ labels: 'app!=web' }, web));
    assert.ok(matchesRule({ labels: { app: 'web' } }, web));
    assert.ok(!matchesRule({ labels: { app: 'web', tier: 'back' } }, web));
    assert.ok(!matchesRule({ labels: 'app' }, ns));
  });

  it('needs every field given to match', function () {
    assert.ok(matchesRule({ kind: 'Deployment', namespace: 'shop', labels: { app: 'web' } }, web));
    assert.ok(!matchesRule({ kind: 'Deployment', namespace: 'shop', labels: { app: 'db' } }, web));
  });
});
