import { strict as assert } from 'node:assert';
import type { KObject } from '../../../src/engine/kube/types';
import { normaliseForDiff, toYaml, unifiedDiff } from '../../../src/engine/restore/diff';
import { REDACTED, REDACTED_CHANGED, redactObject, redactPair } from '../../../src/engine/restore/redact';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

const VALUES = ['hunter2-password', 'sk_live_0123456789', 'same-on-both-sides', 'only-live-value', 'added-by-restore'];

function secret(data: Record<string, string>, extra: Partial<KObject> = {}): KObject {
  const lastApplied = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db-credentials', namespace: 'shop', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied, team: 'db' } },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    ...extra,
  };
}

/** Every form a value could leak in: as is, base64, and base64 of the base64. */
function assertNoValue(text: string): void {
  for (const v of VALUES) {
    for (const form of [v, b64(v), b64(b64(v))]) assert.ok(!text.includes(form), `"${form}" appears in:\n${text}`);
  }
}

describe('restore redaction', () => {
  it('replaces every Secret value on both sides and marks the ones the restore changes', () => {
    const live = secret({ password: 'hunter2-password', same: 'same-on-both-sides', gone: 'only-live-value' });
    const desired = secret({ password: 'sk_live_0123456789', same: 'same-on-both-sides', added: 'added-by-restore' });
    const r = redactPair(live, desired);
    assert.deepEqual(r.live.data, { password: REDACTED, same: REDACTED, gone: REDACTED });
    assert.deepEqual(r.desired.data, { password: REDACTED_CHANGED, same: REDACTED, added: REDACTED });
    assert.deepEqual(r.live.metadata.annotations, { team: 'db' }, 'the last-applied annotation is removed, others kept');
    assert.deepEqual(r.desired.metadata.annotations, { team: 'db' });
    const patch = unifiedDiff(toYaml(normaliseForDiff(r.live)), toYaml(normaliseForDiff(r.desired)), { old: 'live', new: 'restore' });
    assertNoValue(patch);
    assertNoValue(JSON.stringify(r));
    assert.match(patch, /^- {2}password: <redacted>$/m);
    assert.match(patch, /^\+ {2}password: "?<redacted: changed>"?$/m);
  });

  it('compares stringData on one side with data on the other by bytes', () => {
    const live = secret({ token: 'hunter2-password', other: 'same-on-both-sides' });
    const desired: KObject = { ...secret({}), data: undefined, stringData: { token: 'hunter2-password', other: 'sk_live_0123456789' } };
    delete desired.data;
    const r = redactPair(live, desired);
    assert.deepEqual(r.desired.stringData, { token: REDACTED, other: REDACTED_CHANGED });
    assert.equal(r.desired.data, undefined);
    assertNoValue(JSON.stringify(r));
  });

  it('redacts a Secret that exists on one side only', () => {
    const created = redactPair(undefined, secret({ password: 'hunter2-password' }));
    assert.equal(created.live, undefined);
    assert.deepEqual(created.desired.data, { password: REDACTED });
    assertNoValue(JSON.stringify(created));
    const alone = redactObject(secret({ key: 'sk_live_0123456789' }, { stringData: { extra: 'added-by-restore' } }));
    assert.deepEqual(alone.data, { key: REDACTED });
    assert.deepEqual(alone.stringData, { extra: REDACTED });
    assertNoValue(JSON.stringify(alone));
  });

  it('leaves other kinds as they are', () => {
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'visible' } };
    assert.equal(redactPair(cm, cm).desired, cm);
    assert.equal(redactObject(cm), cm);
  });
});
