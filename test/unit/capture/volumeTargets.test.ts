import { strict as assert } from 'node:assert';
import { annotatedClaims, volumeTargets } from '../../../src/engine/capture/volumeTargets';
import { obj } from './objects';

const bound = (name: string, ns = 'shop') => obj('v1', 'PersistentVolumeClaim', name, ns, { spec: { volumeName: `pv-${name}` }, status: { phase: 'Bound' } });
const pv = (name: string) => obj('v1', 'PersistentVolume', `pv-${name}`);
const pod = (name: string, claims: Record<string, string>, phase = 'Running', annotations?: Record<string, string>) =>
  obj('v1', 'Pod', name, 'shop', {
    annotations,
    spec: { volumes: [...Object.entries(claims).map(([v, c]) => ({ name: v, persistentVolumeClaim: { claimName: c } })), { name: 'scratch', emptyDir: {} }] },
    status: { phase },
  });

describe('volume targets', function () {
  it('reads every bound captured claim, with its volume and the Running pods that mount it', function () {
    const running = pod('db-0', { data: 'data' });
    const pending = pod('db-1', { data: 'data' }, 'Pending');
    const { targets, warnings } = volumeTargets({ capturedClaims: [bound('data')], pods: [running, pending], claims: [], volumes: [pv('data')] });
    assert.deepEqual(warnings, []);
    assert.equal(targets.length, 1);
    assert.equal(targets[0].pvc, 'data');
    assert.equal(targets[0].namespace, 'shop');
    assert.equal(targets[0].reason, 'in-scope');
    assert.equal(targets[0].volume?.metadata.name, 'pv-data');
    assert.deepEqual(targets[0].pods, [running]);
  });

  it('warns about a claim that is not bound instead of reading it', function () {
    const pending = obj('v1', 'PersistentVolumeClaim', 'new', 'shop', { spec: {}, status: { phase: 'Pending' } });
    const { targets, warnings } = volumeTargets({ capturedClaims: [pending], pods: [], claims: [], volumes: [] });
    assert.deepEqual(targets, []);
    assert.match(warnings[0], /persistentvolumeclaim shop\/new is Pending/);
  });

  it('adds claims named by Velero and Lifeboat backup-volumes annotations, through the pod volume names', function () {
    const velero = pod('a', { cache: 'cache-claim' }, 'Running', { 'backup.velero.io/backup-volumes': 'cache,scratch' });
    const lifeboat = pod('b', { logs: 'logs-claim', data: 'data' }, 'Running', { 'lifeboat.dev/backup-volumes': ' logs , data' });
    assert.deepEqual(annotatedClaims(velero), { claims: ['cache-claim'], notClaims: ['scratch'] });
    const { targets, warnings } = volumeTargets({
      capturedClaims: [bound('data')],
      pods: [velero, lifeboat],
      claims: [bound('cache-claim'), bound('logs-claim'), bound('unnamed')],
      volumes: [],
    });
    assert.deepEqual(
      targets.map((t) => [t.pvc, t.reason]),
      [
        ['cache-claim', 'annotated'],
        ['data', 'in-scope'],
        ['logs-claim', 'annotated'],
      ],
    );
    assert.equal(targets[0].volume, undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /pod shop\/a names volume "scratch".*not a PersistentVolumeClaim/);
  });

  it('warns when an annotated claim does not exist', function () {
    const p = pod('a', { cache: 'gone' }, 'Running', { 'backup.velero.io/backup-volumes': 'cache' });
    const { targets, warnings } = volumeTargets({ capturedClaims: [], pods: [p], claims: [], volumes: [] });
    assert.deepEqual(targets, []);
    assert.match(warnings[0], /claim shop\/gone .*not found/);
  });
});
