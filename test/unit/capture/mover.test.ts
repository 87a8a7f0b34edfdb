import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import type { KObject } from '../../../src/engine/kube/types';
import { HEARTBEAT_ANNOTATION, HOLDER_ANNOTATION, holderIdentity, leftoverReason, moverPod, objectName, parseHolder } from '../../../src/engine/capture/mover';

function obj(annotations: Record<string, string>, creationTimestamp?: string): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'm', namespace: 'shop', annotations, creationTimestamp } };
}

describe('the mover and its leftovers', () => {
  it('names this process as holder by host, pid and start time', () => {
    const holder = parseHolder(holderIdentity());
    assert.equal(holder?.host, os.hostname());
    assert.equal(holder?.pid, process.pid);
    assert.ok(Math.abs(holder!.startSeconds - (Date.now() / 1000 - process.uptime())) < 5);
  });

  it('keeps an object whose holder is alive and whose heartbeat is fresh', () => {
    assert.equal(leftoverReason(obj({ [HOLDER_ANNOTATION]: holderIdentity(), [HEARTBEAT_ANNOTATION]: new Date().toISOString() })), undefined);
  });

  it('calls an object left over when its holder on this host has exited', () => {
    const dead = spawnSync('true').pid!;
    const why = leftoverReason(obj({ [HOLDER_ANNOTATION]: `${os.hostname()}/${dead}/${Math.round(Date.now() / 1000)}`, [HEARTBEAT_ANNOTATION]: new Date().toISOString() }));
    assert.equal(why, `its holder (pid ${dead} on this host) is gone`);
  });

  it('calls an object left over when its pid now belongs to a later process', () => {
    const why = leftoverReason(obj({ [HOLDER_ANNOTATION]: `${os.hostname()}/${process.pid}/1000`, [HEARTBEAT_ANNOTATION]: new Date().toISOString() }));
    assert.match(why ?? '', /holder .* is gone/);
  });

  it('leaves a holder on another host to its heartbeat, and calls a two-minute-old heartbeat left over', () => {
    const now = Date.now();
    const other = { [HOLDER_ANNOTATION]: 'elsewhere/1/1' };
    assert.equal(leftoverReason(obj({ ...other, [HEARTBEAT_ANNOTATION]: new Date(now - 60_000).toISOString() }), now), undefined);
    assert.equal(leftoverReason(obj({ ...other, [HEARTBEAT_ANNOTATION]: new Date(now - 150_000).toISOString() }), now), 'its heartbeat is 150s old');
    assert.equal(leftoverReason(obj({}, new Date(now - 180_000).toISOString()), now), 'its heartbeat is 180s old');
  });

  it('makes DNS-label names of at most 63 characters from any claim name', () => {
    const name = objectName('lifeboat-mover', `Data_${'x'.repeat(300)}`);
    assert.ok(name.length <= 63, name);
    assert.match(name, /^lifeboat-mover-data-x+-[0-9a-f]{6}$/);
  });

  it('mounts the claim read-only in a small, unprivileged pod that ends by itself', () => {
    const pod = moverPod('lifeboat-mover-data-abc123', { namespace: 'shop', claim: 'data', volume: { namespace: 'shop', pvc: 'data' }, nodeHostname: 'node-1' });
    const c = pod.spec.containers[0];
    assert.deepEqual(pod.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: true } }]);
    assert.deepEqual(c.volumeMounts, [{ name: 'data', mountPath: '/data', readOnly: true }]);
    assert.equal(c.image, 'docker.io/library/busybox:1.37');
    assert.equal(c.command[0], 'sleep');
    assert.equal(c.securityContext.privileged, false);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.ok(pod.spec.activeDeadlineSeconds > Number(c.command[1]));
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.deepEqual(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values, ['node-1']);
    assert.deepEqual(pod.metadata.labels, { 'app.kubernetes.io/managed-by': 'lifeboat', 'lifeboat.dev/mover': 'capture' });
    const anywhere = moverPod('m', { namespace: 'shop', claim: 'data', volume: { namespace: 'shop', pvc: 'data' } });
    assert.equal(anywhere.spec.affinity, undefined);
    assert.equal(anywhere.spec.tolerations, undefined);
  });
});
