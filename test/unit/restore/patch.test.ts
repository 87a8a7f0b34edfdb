import { strict as assert } from 'node:assert';
import { applyJsonPatch, applyMergePatch, JsonPatchError, JsonPatchTestFailed, parsePointer } from '../../../src/engine/restore/patch';
import type { JsonPatchOperation } from '../../../src/engine/restore/types';

const patch = (doc: unknown, ...ops: JsonPatchOperation[]) => applyJsonPatch(doc, ops);

describe('JSON patch (RFC 6902)', function () {
  it('adds a member, inserts into a list at an index and appends with "-"', function () {
    assert.deepEqual(patch({ foo: 'bar' }, { op: 'add', path: '/baz', value: 'qux' }), { foo: 'bar', baz: 'qux' });
    assert.deepEqual(patch({ foo: ['bar', 'baz'] }, { op: 'add', path: '/foo/1', value: 'qux' }), { foo: ['bar', 'qux', 'baz'] });
    assert.deepEqual(patch({ foo: ['bar'] }, { op: 'add', path: '/foo/-', value: ['abc', 'def'] }), { foo: ['bar', ['abc', 'def']] });
    assert.deepEqual(patch({ foo: ['bar'] }, { op: 'add', path: '/foo/1', value: 'end' }), { foo: ['bar', 'end'] });
  });

  it('replaces the whole document with an empty path', function () {
    assert.deepEqual(patch({ a: 1 }, { op: 'add', path: '', value: { b: 2 } }), { b: 2 });
    assert.deepEqual(patch({ a: 1 }, { op: 'replace', path: '', value: [1] }), [1]);
  });

  it('removes a member and a list item, shifting the rest', function () {
    assert.deepEqual(patch({ baz: 'qux', foo: 'bar' }, { op: 'remove', path: '/baz' }), { foo: 'bar' });
    assert.deepEqual(patch({ foo: ['bar', 'qux', 'baz'] }, { op: 'remove', path: '/foo/1' }), { foo: ['bar', 'baz'] });
  });

  it('replaces only what exists', function () {
    assert.deepEqual(patch({ baz: 'qux', foo: 'bar' }, { op: 'replace', path: '/baz', value: 'boo' }), { baz: 'boo', foo: 'bar' });
    assert.deepEqual(patch({ l: [1, 2] }, { op: 'replace', path: '/l/0', value: 9 }), { l: [9, 2] });
    assert.throws(() => patch({ foo: 'bar' }, { op: 'replace', path: '/baz', value: 1 }), JsonPatchError);
  });

  it('moves and copies values, and refuses to move a value into its own child', function () {
    const doc = { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } };
    assert.deepEqual(patch(doc, { op: 'move', from: '/foo/waldo', path: '/qux/thud' }), { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } });
    assert.deepEqual(patch({ foo: ['all', 'grass', 'cows', 'eat'] }, { op: 'move', from: '/foo/1', path: '/foo/3' }), { foo: ['all', 'cows', 'eat', 'grass'] });
    assert.deepEqual(patch({ a: { b: 1 } }, { op: 'copy', from: '/a', path: '/c' }), { a: { b: 1 }, c: { b: 1 } });
    assert.throws(() => patch({ a: { b: 1 } }, { op: 'move', from: '/a', path: '/a/b/c' }), /own children/);
    assert.throws(() => patch({ a: 1 }, { op: 'move', from: '/missing', path: '/missing' }), JsonPatchError);
  });

  it('copies by value: changing the copy leaves the original', function () {
    const out = patch({ a: { b: 1 } }, { op: 'copy', from: '/a', path: '/c' }, { op: 'replace', path: '/c/b', value: 2 }) as any;
    assert.deepEqual(out, { a: { b: 1 }, c: { b: 2 } });
  });

  it('unescapes ~1 as "/" and ~0 as "~", in that order', function () {
    assert.deepEqual(parsePointer('/a~1b/m~0n/~01'), ['a/b', 'm~n', '~1']);
    assert.deepEqual(parsePointer(''), []);
    assert.deepEqual(parsePointer('/'), ['']);
    const doc = { metadata: { annotations: { 'example.com/team': 'a', 'x~y': 'b' } } };
    assert.deepEqual(patch(doc, { op: 'remove', path: '/metadata/annotations/example.com~1team' }, { op: 'replace', path: '/metadata/annotations/x~0y', value: 'c' }), {
      metadata: { annotations: { 'x~y': 'c' } },
    });
    assert.throws(() => parsePointer('/a~2'), /~0 for "~"/);
    assert.throws(() => parsePointer('a/b'), /must be empty or start with "\/"/);
  });

  it('throws JsonPatchTestFailed when a test finds another value or nothing', function () {
    assert.deepEqual(patch({ baz: 'qux', foo: ['a', 2, 'c'] }, { op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }), { baz: 'qux', foo: ['a', 2, 'c'] });
    assert.throws(() => patch({ baz: 'qux' }, { op: 'test', path: '/baz', value: 'bar' }), JsonPatchTestFailed);
    assert.throws(() => patch({ baz: 'qux' }, { op: 'test', path: '/nope', value: null }), JsonPatchTestFailed);
    assert.throws(() => patch({ a: { x: 1, y: [1] } }, { op: 'test', path: '/a', value: { x: 1, y: [2] } }), JsonPatchTestFailed);
  });

  it('names the failing operation for a missing parent, a bad index or a missing from', function () {
    assert.throws(() => patch({ foo: 'bar' }, { op: 'add', path: '/baz/bat', value: 'qux' }), (e: Error) => e instanceof JsonPatchError && /operation 0 \(add \/baz\/bat\): \/baz does not exist/.test(e.message));
    assert.throws(() => patch({ l: [1] }, { op: 'add', path: '/l/01', value: 2 }), /not an array index/);
    assert.throws(() => patch({ l: [1] }, { op: 'add', path: '/l/5', value: 2 }), /out of bounds/);
    assert.throws(() => patch({ l: [1] }, { op: 'remove', path: '/l/-' }), JsonPatchError);
    assert.throws(() => patch({ a: 1 }, { op: 'copy', path: '/b' } as JsonPatchOperation), /needs a "from"/);
    assert.throws(() => patch({ a: 1 }, { op: 'remove', path: '' }), /whole document/);
  });

  it('leaves the document given untouched, also when an operation fails halfway', function () {
    const doc = { a: { b: [1, 2] } };
    patch(doc, { op: 'add', path: '/a/b/-', value: 3 }, { op: 'remove', path: '/a/b/0' });
    assert.throws(() => patch(doc, { op: 'remove', path: '/a/b/0' }, { op: 'remove', path: '/zzz' }));
    assert.deepEqual(doc, { a: { b: [1, 2] } });
  });
});

describe('merge patch (RFC 7386)', function () {
  // The examples of RFC 7386 appendix A.
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [doc, p, want] of cases) {
    it(`${JSON.stringify(doc)} patched by ${JSON.stringify(p)} is ${JSON.stringify(want)}`, function () {
      assert.deepEqual(applyMergePatch(doc, p), want);
    });
  }

  it('leaves the document and the patch untouched, and shares nothing with them', function () {
    const doc = { spec: { replicas: 3, template: { metadata: { labels: { app: 'web' } } } } };
    const p = { spec: { replicas: 1, extra: { x: [1] } } };
    const out = applyMergePatch(doc, p) as any;
    out.spec.template.metadata.labels.app = 'changed';
    out.spec.extra.x.push(2);
    assert.deepEqual(doc, { spec: { replicas: 3, template: { metadata: { labels: { app: 'web' } } } } });
    assert.deepEqual(p, { spec: { replicas: 1, extra: { x: [1] } } });
  });
});
