import * as assert from 'node:assert/strict';
import { parseWebviewMessage } from '../../../src/protocol/webview';
import { InvalidParamsError } from '../../../src/protocol/validate';

describe('messages from the webview panels', () => {
  it('accepts the plan panel\'s commands', () => {
    assert.deepEqual(parseWebviewMessage('restorePlan', { type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage('restorePlan', { type: 'apply' }), { type: 'apply' });
    assert.deepEqual(parseWebviewMessage('overview', { type: 'refresh' }), { type: 'refresh' });
  });

  it('accepts a shown report with a whole count for every action', () => {
    const counts = { create: 3, update: 1, unchanged: 0, conflict: 0, forbidden: 0, invalid: 0 };
    assert.deepEqual(parseWebviewMessage('restorePlan', { type: 'shown', counts, rows: 4 }), { type: 'shown', counts, rows: 4 });
  });

  it('refuses a type the panel does not send, naming the field', () => {
    assert.throws(() => parseWebviewMessage('overview', { type: 'apply' }), (e: Error) => e instanceof InvalidParamsError && /message\.type: unknown message type for the overview panel/.test(e.message));
    assert.throws(() => parseWebviewMessage('restorePlan', { type: 'runCommand' }), InvalidParamsError);
  });

  it('refuses values that are not plain objects with a string type', () => {
    for (const bad of [null, 'apply', 42, ['apply'], {}, { type: 7 }, { type: '' }]) {
      assert.throws(() => parseWebviewMessage('restorePlan', bad), InvalidParamsError, JSON.stringify(bad));
    }
  });

  it('refuses extra fields, also on a command that takes none', () => {
    assert.throws(() => parseWebviewMessage('restorePlan', { type: 'apply', context: 'sandbox-prod' }), /message\.context: unknown field/);
    assert.throws(() => parseWebviewMessage('restorePlan', { type: 'refresh', counts: {} }), /message\.counts: unknown field/);
  });

  it('refuses a shown report with a missing, negative, fractional or unknown count', () => {
    const good = { create: 0, update: 0, unchanged: 0, conflict: 0, forbidden: 0, invalid: 0 };
    assert.throws(() => parseWebviewMessage('restorePlan', { type: 'shown', counts: { ...good, create: undefined }, rows: 0 }), /counts\.create: is required/);
    assert.throws(() => parseWebviewMessage('restorePlan', { type: 'shown', counts: { ...good, update: -1 }, rows: 0 }), /counts\.update: must be between/);
    assert.throws(() => parseWebviewMessage('restorePlan', { type: 'shown', counts: { ...good, update: 1.5 }, rows: 0 }), /whole number/);
    assert.throws(() => parseWebviewMessage('restorePlan', { type: 'shown', counts: { ...good, delete: 1 }, rows: 0 }), /counts\.delete: unknown field/);
    assert.throws(() => parseWebviewMessage('restorePlan', { type: 'shown', counts: good }), /message\.rows: is required/);
  });
});
