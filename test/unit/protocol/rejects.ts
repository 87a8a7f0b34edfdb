import { strict as assert } from 'node:assert';
import { InvalidParamsError } from '../../../src/protocol/validate';

/** Asserts that a validator refuses its params with InvalidParamsError naming `field` (and, given, a message matching `problem`). */
export function rejects(check: () => unknown, field: string, problem?: RegExp): void {
  assert.throws(check, (err: unknown) => {
    assert.ok(err instanceof InvalidParamsError, String(err));
    assert.equal(err.field, field);
    if (problem) assert.match(err.message, problem);
    return true;
  });
}
