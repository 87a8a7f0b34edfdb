import * as assert from 'node:assert/strict';
import { parseStatus } from '../../../src/engine/kube/exec';

describe('kube exec status channel', () => {
  it('reads Success as exit code 0', () => {
    assert.deepEqual(parseStatus('{"metadata":{},"status":"Success"}'), { exitCode: 0 });
  });

  it('reads the exit code from the ExitCode cause of a NonZeroExitCode failure', () => {
    const s = JSON.stringify({ status: 'Failure', reason: 'NonZeroExitCode', message: 'command terminated with non-zero exit code: exit code 3', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    assert.deepEqual(parseStatus(s), { exitCode: 3, message: 'command terminated with non-zero exit code: exit code 3' });
  });

  it('reports -1 with the message for a failure without an exit code', () => {
    assert.deepEqual(parseStatus(JSON.stringify({ status: 'Failure', message: 'container not found ("sidecar")' })), { exitCode: -1, message: 'container not found ("sidecar")' });
    assert.deepEqual(parseStatus('exec failed: no such file'), { exitCode: -1, message: 'exec failed: no such file' });
  });
});
