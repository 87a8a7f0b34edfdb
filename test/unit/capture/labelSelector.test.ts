import { strict as assert } from 'node:assert';
import { mapSelects, parseLabelSelector } from '../../../src/engine/capture/labelSelector';

describe('label selectors', function () {
  const labels = { app: 'web', tier: 'frontend', env: 'prod' };

  it('matches equality, inequality, set and existence terms, all of them at once', function () {
    assert.ok(parseLabelSelector('app=web').matches(labels));
    assert.ok(parseLabelSelector('app==web').matches(labels));
    assert.ok(!parseLabelSelector('app=api').matches(labels));
    assert.ok(parseLabelSelector('app!=api').matches(labels));
    assert.ok(parseLabelSelector('missing!=x').matches(labels));
    assert.ok(parseLabelSelector('env in (prod, stage)').matches(labels));
    assert.ok(!parseLabelSelector('env notin (prod,stage)').matches(labels));
    assert.ok(parseLabelSelector('tier').matches(labels));
    assert.ok(parseLabelSelector('!legacy').matches(labels));
    assert.ok(!parseLabelSelector('!tier').matches(labels));
    assert.ok(parseLabelSelector('app=web,env in (prod),!legacy').matches(labels));
    assert.ok(!parseLabelSelector('app=web,env in (dev)').matches(labels));
    assert.ok(!parseLabelSelector('app=web').matches(undefined));
    assert.ok(parseLabelSelector('').matches(undefined));
  });

  it('refuses text that is not a selector, naming the bad term', function () {
    assert.throws(() => parseLabelSelector('app=web,env in prod'), /cannot read the term in "env in prod"/);
    assert.throws(() => parseLabelSelector('app=web!'), /"web!" is not a valid label value/);
    assert.throws(() => parseLabelSelector('-app=web'), /"-app" is not a valid label key/);
    assert.ok(parseLabelSelector('app.kubernetes.io/name=api,x=').matches({ 'app.kubernetes.io/name': 'api', x: '' }));
  });

  it('treats an empty Service selector as selecting nothing', function () {
    assert.ok(mapSelects({ app: 'web' }, labels));
    assert.ok(!mapSelects({ app: 'web', track: 'canary' }, labels));
    assert.ok(!mapSelects({}, labels));
    assert.ok(!mapSelects(undefined, labels));
  });
});
