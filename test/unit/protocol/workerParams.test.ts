import { strict as assert } from 'node:assert';
import {
  validateCaptureParams,
  validateInitializeParams,
  validateRepositoryVerifyParams,
  validateSnapshotsListParams,
  validateSnapshotsShowParams,
} from '../../../src/protocol/workerParams';
import { rejects } from './rejects';

const repository = { location: '/srv/backups', passphrase: 'hunter2-but-longer' };

describe('worker request params', function () {
  it('accepts well-formed params and keeps only the fields given', function () {
    assert.deepEqual(validateSnapshotsListParams({ jobId: 'j1', repository, cluster: 'prod' }), { jobId: 'j1', repository, cluster: 'prod' });
    assert.deepEqual(validateSnapshotsShowParams({ jobId: 'j1', repository, snapshot: 'latest' }), { jobId: 'j1', repository, snapshot: 'latest' });
    assert.deepEqual(validateRepositoryVerifyParams({ jobId: 'j1', repository }), { jobId: 'j1', repository });
    assert.deepEqual(validateInitializeParams({ protocolVersion: 1 }), { protocolVersion: 1 });
    const s3 = { endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'T' };
    assert.deepEqual(validateSnapshotsListParams({ jobId: 'j', repository: { location: 's3://b/p', s3 } }).repository, { location: 's3://b/p', s3 });
  });

  it('accepts a full capture request and an empty scope', function () {
    const request = {
      kubeconfig: '/home/me/.kube/config',
      context: 'prod',
      scope: { namespaces: ['shop', 'team-*'], excludeNamespaces: ['kube-system'], includeKinds: ['Deployment'], excludeKinds: ['Secret'], selector: 'app=web', tagged: true },
      volumes: false,
      moverImage: 'busybox:1.36',
      etcd: { endpoints: ['https://10.0.0.1:2379'], caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' },
      tags: ['nightly'],
      parallelism: 4,
    };
    assert.deepEqual(validateCaptureParams({ jobId: 'c-1', repository, request }).request, request);
    assert.deepEqual(validateCaptureParams({ jobId: 'c-1', repository, request: { scope: {} } }).request, { scope: {} });
  });

  it('names the missing or mistyped field', function () {
    rejects(() => validateSnapshotsListParams(undefined), '', /^params: must be an object, not missing/);
    rejects(() => validateSnapshotsListParams([]), '', /not an array/);
    rejects(() => validateSnapshotsListParams({ repository }), 'jobId', /is required/);
    rejects(() => validateSnapshotsListParams({ jobId: '../x', repository }), 'jobId');
    rejects(() => validateSnapshotsListParams({ jobId: 'j' }), 'repository', /is required/);
    rejects(() => validateSnapshotsListParams({ jobId: 'j', repository: { location: '' } }), 'repository.location', /must not be empty/);
    rejects(() => validateSnapshotsListParams({ jobId: 'j', repository, extra: 1 }), 'extra', /unknown field/);
    rejects(() => validateSnapshotsShowParams({ jobId: 'j', repository }), 'snapshot', /is required/);
    rejects(() => validateRepositoryVerifyParams({ jobId: 'j', repository, readData: 1 }), 'readData', /true or false/);
    rejects(() => validateInitializeParams({ protocolVersion: '1' }), 'protocolVersion', /whole number/);
  });

  it('checks S3 settings: a URL endpoint, and key id and secret together', function () {
    const at = (s3: unknown) => () => validateSnapshotsListParams({ jobId: 'j', repository: { location: 's3://b', s3 } });
    rejects(at({ endpoint: 'localhost:9000' }), 'repository.s3.endpoint', /http/);
    rejects(at({ accessKeyId: 'AK' }), 'repository.s3.secretAccessKey', /go together/);
    rejects(at({ secretAccessKey: 'SK' }), 'repository.s3.accessKeyId', /go together/);
    rejects(at({ sessionToken: 'T' }), 'repository.s3.sessionToken');
    rejects(at({ bucket: 'b' }), 'repository.s3.bucket', /unknown field/);
  });

  it('rejects a misspelt scope field instead of capturing more than asked', function () {
    const capture = (request: unknown) => () => validateCaptureParams({ jobId: 'j', repository, request });
    rejects(capture({ scope: { namespace: ['shop'] } }), 'request.scope.namespace', /unknown field/);
    rejects(capture({}), 'request.scope', /is required/);
    rejects(capture({ scope: { namespaces: 'shop' } }), 'request.scope.namespaces', /array of strings/);
    rejects(capture({ scope: { namespaces: ['shop', 3] } }), 'request.scope.namespaces[1]');
    rejects(capture({ scope: {}, parallelism: 1.5 }), 'request.parallelism', /whole number/);
    rejects(capture({ scope: {}, parallelism: 1000 }), 'request.parallelism', /between 1 and 64/);
    rejects(capture({ scope: {}, etcd: { endpoints: [] } }), 'request.etcd.endpoints', /at least one/);
    rejects(capture({ scope: {}, etcd: { endpoints: ['10.0.0.1:2379'] } }), 'request.etcd.endpoints[0]', /endpoint URL/);
    rejects(capture({ scope: {}, etcd: { endpoints: ['https://e:2379'], certFile: '/c' } }), 'request.etcd.keyFile', /go together/);
  });

  it('never puts a rejected value in the message, since it may be a secret', function () {
    const secret = 'sk-live-0123456789abcdef';
    for (const passphrase of [[secret], { secret }, 12345678]) {
      assert.throws(
        () => validateSnapshotsListParams({ jobId: 'j', repository: { location: '/r', passphrase } }),
        (err: Error) => !err.message.includes(secret) && !err.message.includes('12345678') && /repository\.passphrase/.test(err.message),
      );
    }
    assert.throws(
      () => validateSnapshotsListParams({ jobId: 'j', repository: { location: '/r', s3: { accessKeyId: 'AK', secretAccessKey: ['x'.repeat(8)] } } }),
      (err: Error) => !err.message.includes('xxxxxxxx'),
    );
  });
});
