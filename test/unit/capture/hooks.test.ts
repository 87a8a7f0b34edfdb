import { strict as assert } from 'node:assert';
import type { KObject } from '../../../src/engine/kube/types';
import { checkHook, HookAnnotationError, HookFailedError, parseDuration, parseHook, type HookResult } from '../../../src/engine/capture/hooks';

function pod(annotations: Record<string, string>, containers = ['app', 'sidecar']): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', namespace: 'shop', annotations },
    spec: { containers: containers.map((name) => ({ name, image: 'x' })) },
    status: { phase: 'Running' },
  };
}

describe('backup hook annotations', () => {
  it('a pod without hook annotations has no hook', () => {
    assert.equal(parseHook(pod({}), 'pre'), undefined);
    assert.equal(parseHook(pod({ 'pre.hook.backup.velero.io/command': '["true"]' }), 'post'), undefined);
  });

  it('a Velero pre-hook defaults to the first container, Fail and 30 seconds', () => {
    const hook = parseHook(pod({ 'pre.hook.backup.velero.io/command': '["/bin/sh","-c","psql -c CHECKPOINT"]' }), 'pre');
    assert.deepEqual(hook, {
      phase: 'pre',
      prefix: 'pre.hook.backup.velero.io/',
      container: 'app',
      command: ['/bin/sh', '-c', 'psql -c CHECKPOINT'],
      onError: 'Fail',
      timeoutMs: 30_000,
    });
  });

  it('a plain-string command is one argv element, never split or given to a shell', () => {
    const hook = parseHook(pod({ 'post.hook.backup.velero.io/command': '/usr/local/bin/thaw --all' }), 'post');
    assert.deepEqual(hook?.command, ['/usr/local/bin/thaw --all']);
  });

  it('container, on-error and timeout are read from the annotations', () => {
    const hook = parseHook(
      pod({
        'post.hook.backup.velero.io/command': '["thaw"]',
        'post.hook.backup.velero.io/container': 'sidecar',
        'post.hook.backup.velero.io/on-error': 'Continue',
        'post.hook.backup.velero.io/timeout': '1m30s',
      }),
      'post',
    );
    assert.equal(hook?.container, 'sidecar');
    assert.equal(hook?.onError, 'Continue');
    assert.equal(hook?.timeoutMs, 90_000);
  });

  it("Lifeboat's own annotations win over Velero's, field by field from the same prefix", () => {
    const hook = parseHook(
      pod({
        'pre.hook.backup.velero.io/command': '["velero-freeze"]',
        'pre.hook.backup.velero.io/on-error': 'Continue',
        'pre.hook.backup.lifeboat.dev/command': '["lifeboat-freeze"]',
      }),
      'pre',
    );
    assert.deepEqual(hook?.command, ['lifeboat-freeze']);
    assert.equal(hook?.prefix, 'pre.hook.backup.lifeboat.dev/');
    assert.equal(hook?.onError, 'Fail');
  });

  it('a bad annotation is an error naming the pod and the annotation', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'pre.hook.backup.velero.io/command': '["unclosed"' }, /pod shop\/db-0: annotation pre\.hook\.backup\.velero\.io\/command .*does not parse/],
      [{ 'pre.hook.backup.velero.io/command': '[1, 2]' }, /annotation pre\.hook\.backup\.velero\.io\/command must be a non-empty JSON array of strings/],
      [{ 'pre.hook.backup.velero.io/command': '[]' }, /non-empty JSON array/],
      [{ 'pre.hook.backup.velero.io/command': '  ' }, /is empty/],
      [{ 'pre.hook.backup.velero.io/command': '["x"]', 'pre.hook.backup.velero.io/on-error': 'Ignore' }, /on-error is "Ignore": use Fail or Continue/],
      [{ 'pre.hook.backup.velero.io/command': '["x"]', 'pre.hook.backup.velero.io/timeout': 'soon' }, /timeout is "soon": use a duration/],
      [{ 'pre.hook.backup.velero.io/command': '["x"]', 'pre.hook.backup.velero.io/container': 'postgres' }, /container names container "postgres", which the pod does not have \(it has app, sidecar\)/],
    ];
    for (const [annotations, message] of cases) {
      assert.throws(() => parseHook(pod(annotations), 'pre'), (err: Error) => err instanceof HookAnnotationError && message.test(err.message), JSON.stringify(annotations));
    }
  });

  it('durations are read the way Go writes them', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h2m3.5s'), 3_723_500);
    assert.equal(parseDuration('45'), 45_000);
    assert.equal(parseDuration('3 days'), undefined);
    assert.equal(parseDuration('10x'), undefined);
    assert.equal(parseDuration(''), undefined);
  });
});

describe('a failed hook', () => {
  const failed = (onError: 'Fail' | 'Continue'): HookResult => ({
    hook: { phase: 'pre', prefix: 'pre.hook.backup.velero.io/', container: 'app', command: ['freeze'], onError, timeoutMs: 30_000 },
    status: 'failed',
    exitCode: 3,
    reason: 'exit status 3',
    outputTail: 'cannot freeze: busy',
    durationMs: 12,
  });

  it('with on-error Fail throws, naming the pod and the hook', () => {
    assert.throws(
      () => checkHook(pod({}), failed('Fail')),
      (err: Error) => err instanceof HookFailedError && /pod shop\/db-0: pre-hook pre\.hook\.backup\.velero\.io\/command \(container app\) failed: exit status 3; output ends with: cannot freeze: busy/.test(err.message),
    );
  });

  it('with on-error Continue gives a warning instead', () => {
    const warning = checkHook(pod({}), failed('Continue'));
    assert.match(warning ?? '', /pod shop\/db-0: pre-hook .* failed: exit status 3.*on-error Continue/);
  });

  it('a successful hook gives neither', () => {
    assert.equal(checkHook(pod({}), { ...failed('Fail'), status: 'success' }), undefined);
    assert.equal(checkHook(pod({}), undefined), undefined);
  });
});
