import { strict as assert } from 'node:assert';
import { ErrorCodes as RpcErrorCodes } from 'vscode-jsonrpc';
import { CancelledError } from '../../../src/engine/progress';
import { NotARepositoryError, WrongPassphraseError } from '../../../src/engine/repo/format';
import { LockConflictError } from '../../../src/engine/repo/lock';
import { SnapshotNotFoundError } from '../../../src/engine/repo/snapshotReader';
import { InvalidParamsError } from '../../../src/protocol/validate';
import { ErrorCodes } from '../../../src/protocol/worker';
import { redact, redactValue, toResponseError } from '../../../src/worker/jobs/errors';
import { PassphraseRequiredError, RepositoryLocationError } from '../../../src/worker/jobs/repository';

describe('job failures as protocol errors', function () {
  it('gives each kind of failure the code the client acts on', function () {
    const holder = { version: 1, exclusive: true, purpose: 'prune', host: 'h', pid: 1, user: 'u', time: 't', written: 't', expires: 'e' };
    const cases: Array<[unknown, number]> = [
      [new CancelledError(), ErrorCodes.cancelled],
      [Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }), ErrorCodes.cancelled],
      [new InvalidParamsError('jobId', 'is required'), RpcErrorCodes.InvalidParams],
      [new RepositoryLocationError('unsupported scheme'), ErrorCodes.usage],
      [new NotARepositoryError('/x', 'no config'), ErrorCodes.notFound],
      [new SnapshotNotFoundError('no snapshot "ab"'), ErrorCodes.notFound],
      [new LockConflictError(holder, { exclusive: false, purpose: 'verify' }, '/x'), ErrorCodes.locked],
      [new WrongPassphraseError('/x'), ErrorCodes.passphrase],
      [new PassphraseRequiredError('/x'), ErrorCodes.passphrase],
      [new Error('disk full'), ErrorCodes.failure],
      ['a string', ErrorCodes.failure],
    ];
    for (const [err, code] of cases) assert.equal(toResponseError(err, []).code, code, String(err));
    assert.equal(toResponseError(new Error('disk full'), []).message, 'disk full');
  });

  it('scrubs the request\'s secrets from messages and log fields', function () {
    const secrets = ['correct-horse-battery', 'wJalrXUtnFEMI/K7MDENG'];
    assert.equal(toResponseError(new Error('cannot open with correct-horse-battery'), secrets).message, 'cannot open with [redacted]');
    assert.equal(redact('key wJalrXUtnFEMI/K7MDENG twice wJalrXUtnFEMI/K7MDENG', secrets), 'key [redacted] twice [redacted]');
    assert.deepEqual(redactValue({ message: 'm', fields: { url: 'x?sig=correct-horse-battery', n: 3 } }, secrets), {
      message: 'm',
      fields: { url: 'x?sig=[redacted]', n: 3 },
    });
    const quoted = 'pass"with\\quotes';
    assert.deepEqual(redactValue({ f: `a ${quoted} b` }, [quoted]), { f: 'a [redacted] b' });
  });
});
