import * as assert from 'node:assert/strict';
import { sideBySide } from '../../../src/engine/restore/sideBySide';

describe('side-by-side rows of a plan item', () => {
  it('aligns unchanged lines and pairs a changed line with its replacement', () => {
    const rows = sideBySide('a: 1\nb: 2\nc: 3\n', 'a: 1\nb: 20\nc: 3\n');
    assert.deepEqual(
      rows.map((r) => [r.kind, r.left?.line, r.left?.text, r.right?.line, r.right?.text]),
      [
        ['same', 1, 'a: 1', 1, 'a: 1'],
        ['changed', 2, 'b: 2', 2, 'b: 20'],
        ['same', 3, 'c: 3', 3, 'c: 3'],
      ],
    );
  });

  it('shows every line of a created object on the right, facing empty cells', () => {
    const rows = sideBySide('', 'kind: ConfigMap\nmetadata:\n  name: x\n');
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.kind === 'added' && r.left === undefined));
    assert.deepEqual(rows.map((r) => r.right?.line), [1, 2, 3]);
  });

  it('keeps both sides numbered when a run removes more lines than it adds', () => {
    const rows = sideBySide('x\none\ntwo\nthree\ny\n', 'x\nuno\ny\n');
    assert.deepEqual(rows.map((r) => r.kind), ['same', 'changed', 'removed', 'removed', 'same']);
    const last = rows[rows.length - 1];
    assert.deepEqual([last.left?.line, last.right?.line], [5, 3]);
  });

  it('gives no rows for two empty texts and only same rows for equal ones', () => {
    assert.deepEqual(sideBySide('', ''), []);
    assert.ok(sideBySide('a\nb\n', 'a\nb\n').every((r) => r.kind === 'same'));
  });
});
