import { strict as assert } from 'node:assert';
import type { KObject } from '../../../src/engine/kube/types';
import type { VolumeTarget } from '../../../src/engine/capture/types';
import { groupByHookPods } from '../../../src/engine/capture/volumes';

const HOOK = { 'pre.hook.backup.velero.io/command': '["freeze"]' };

function pod(name: string, annotations: Record<string, string> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop', annotations }, spec: { containers: [{ name: 'app' }] }, status: { phase: 'Running' } };
}

function volume(pvc: string, pods: KObject[]): VolumeTarget {
  return { namespace: 'shop', pvc, claim: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: pvc, namespace: 'shop' } }, pods, reason: 'in-scope' };
}

const shape = (groups: ReturnType<typeof groupByHookPods>): Array<{ pods: string[]; volumes: string[] }> =>
  groups.map((g) => ({ pods: g.pods.map((p) => p.metadata.name).sort(), volumes: g.volumes.map((v) => v.pvc).sort() }));

describe('grouping volumes by the hook pods that mount them', () => {
  it('reads a volume without hook pods on its own, without hooks', () => {
    const web = pod('web');
    assert.deepEqual(shape(groupByHookPods({ volumes: [volume('cache', [web])], hookPods: [] })), [{ pods: [], volumes: ['cache'] }]);
  });

  it("puts all of a hook pod's volumes between one pre-hook and one post-hook", () => {
    const db = pod('db-0', HOOK);
    assert.deepEqual(shape(groupByHookPods({ volumes: [volume('data', [db]), volume('wal', [db])], hookPods: [db] })), [{ pods: ['db-0'], volumes: ['data', 'wal'] }]);
  });

  it('joins groups when a shared volume links two hook pods', () => {
    const a = pod('a', HOOK);
    const b = pod('b', HOOK);
    const groups = groupByHookPods({ volumes: [volume('only-a', [a]), volume('only-b', [b]), volume('shared', [a, b])], hookPods: [a, b] });
    assert.deepEqual(shape(groups), [{ pods: ['a', 'b'], volumes: ['only-a', 'only-b', 'shared'] }]);
  });

  it('gives a hook pod without volumes a group of its own, so its hooks run once', () => {
    const worker = pod('worker', HOOK);
    assert.deepEqual(shape(groupByHookPods({ volumes: [], hookPods: [worker] })), [{ pods: ['worker'], volumes: [] }]);
  });

  it('runs the hooks of a pod mounting the volume even when the selection did not list the pod', () => {
    const db = pod('db-0', HOOK);
    assert.deepEqual(shape(groupByHookPods({ volumes: [volume('data', [db])], hookPods: [] })), [{ pods: ['db-0'], volumes: ['data'] }]);
  });

  it('reads a volume named twice once', () => {
    const v = volume('data', []);
    assert.deepEqual(shape(groupByHookPods({ volumes: [v, { ...v }], hookPods: [] })), [{ pods: [], volumes: ['data'] }]);
  });
});
