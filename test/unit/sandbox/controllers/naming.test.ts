import * as assert from 'node:assert/strict';
import { templateHash, safeEncode, fnv32a } from '../../../sandbox/controllers/hash';
import { qualifiedImage } from '../../../sandbox/controllers/kubelet';
import { scaleDownOrder } from '../../../sandbox/controllers/pods';
import { matchesMap, matchesSelector } from '../../../sandbox/controllers/selector';
import { parseQuantity } from '../../../sandbox/controllers/storage';
import type { KObject } from '../../../sandbox/contract';

describe('sandbox controller naming and matching', () => {
  it('hashes pod templates stably, independent of key order, into vowel-free names', () => {
    const a = templateHash({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } });
    const b = templateHash({ spec: { containers: [{ image: 'nginx:1.27', name: 'nginx' }] }, metadata: { labels: { app: 'web' } } });
    const c = templateHash({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.28' }] } });
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    assert.notEqual(templateHash({ x: 1 }, 1), templateHash({ x: 1 }, 0));
    assert.equal(fnv32a(''), 0x811c9dc5);
    // Each decimal digit maps through its character code, as Kubernetes' SafeEncodeString does.
    assert.equal(safeEncode('0123'), '4567');
  });

  it('qualifies image references the way container runtimes report them', () => {
    assert.equal(qualifiedImage('nginx'), 'docker.io/library/nginx:latest');
    assert.equal(qualifiedImage('postgres:16.4'), 'docker.io/library/postgres:16.4');
    assert.equal(qualifiedImage('bitnami/redis:7'), 'docker.io/bitnami/redis:7');
    assert.equal(qualifiedImage('ghcr.io/example/api:1.4.2'), 'ghcr.io/example/api:1.4.2');
    assert.equal(qualifiedImage('localhost:5000/app'), 'localhost:5000/app:latest');
  });

  it('matches label selectors with expressions, and treats empty selectors as matching nothing', () => {
    const labels = { app: 'db', tier: 'backend' };
    assert.ok(matchesSelector({ matchLabels: { app: 'db' } }, labels));
    assert.ok(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'x'] }] }, labels));
    assert.ok(!matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] }, labels));
    assert.ok(matchesSelector({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, labels));
    assert.ok(!matchesSelector({}, labels));
    assert.ok(!matchesMap({}, labels));
    assert.ok(matchesMap({ app: 'db' }, labels));
  });

  it('removes unscheduled, pending and unready pods first when scaling down', () => {
    const pod = (name: string, nodeName?: string, phase = 'Running', ready = true, created = '2026-01-01T00:00:00Z'): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, creationTimestamp: created },
      spec: { nodeName },
      status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const order = scaleDownOrder([
      pod('old-ready', 'n1'),
      pod('new-ready', 'n1', 'Running', true, '2026-01-02T00:00:00Z'),
      pod('unready', 'n1', 'Running', false),
      pod('pending', 'n1', 'Pending', false),
      pod('unscheduled', undefined, 'Pending', false),
    ]).map((p) => p.metadata.name);
    assert.deepEqual(order, ['unscheduled', 'pending', 'unready', 'new-ready', 'old-ready']);
  });

  it('parses storage quantities', () => {
    assert.equal(parseQuantity('1Gi'), 2 ** 30);
    assert.equal(parseQuantity('500Mi'), 500 * 2 ** 20);
    assert.equal(parseQuantity('2G'), 2e9);
    assert.equal(parseQuantity('1024'), 1024);
    assert.equal(parseQuantity(undefined), 0);
  });
});
