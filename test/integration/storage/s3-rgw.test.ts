/**
 * S3Backend against a real S3 server (Ceph RGW on loopback). Faults a healthy
 * server cannot produce on demand (SlowDown, 500s, cut connections) come from
 * the fault proxy in test/support/faultProxy.ts, placed between the backend
 * and the same real server.
 */
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  AlreadyExistsError,
  ObjectLockedError,
  openBackend,
  S3Backend,
  StorageOperationError,
  type S3Options,
} from '../../../src/engine/storage';
import { startFaultProxy, type FaultProxy } from '../../support/faultProxy';
import { RGW_UNAVAILABLE, rgwAvailable, startRgw, type RgwServer } from '../../support/rgw';
import { backendContract, generatedStream, liveBufferPeakDuring, sha256 } from '../../unit/storage/backendContract';

const MiB = 1024 * 1024;

describe('S3Backend on Ceph RGW', function () {
  this.timeout(180_000);
  let rgw: RgwServer | undefined;
  let admin: S3Client;
  const backends: S3Backend[] = [];

  const open = (options: Partial<S3Options> & { bucket: string }): S3Backend => {
    const backend = new S3Backend({
      endpoint: rgw!.endpoint,
      region: rgw!.region,
      credentials: { accessKeyId: rgw!.accessKeyId, secretAccessKey: rgw!.secretAccessKey },
      env: {},
      ...options,
    });
    backends.push(backend);
    return backend;
  };

  before(async function () {
    if (!rgwAvailable()) {
      console.log(`      skipped: ${RGW_UNAVAILABLE}`);
      this.skip();
    }
    rgw = await startRgw();
    admin = rgw.client();
    await rgw.createBucket('contract');
    await rgw.createBucket('large');
    await rgw.createBucket('faults');
    await rgw.createBucket('locked', { objectLock: true });
  });

  after(async () => {
    for (const b of backends) await b.close();
    admin?.destroy();
    await rgw?.stop();
  });

  describe('backend contract', () => {
    let backend: S3Backend;
    before(() => {
      // Small pages make listing walk several ListObjectsV2 continuation tokens.
      backend = open({ bucket: 'contract', prefix: 'repo', partSize: 5 * MiB, listPageSize: 7 });
    });
    backendContract({ backend: () => backend, largeSize: 12 * MiB });
  });

  it('uploads a 64 MiB stream as multipart parts with bounded memory and reads it back intact', async () => {
    const backend = open({ bucket: 'large', prefix: 'repo', partSize: 5 * MiB });
    const size = 64 * MiB;
    const { stream, sha256: digest } = generatedStream(size, 'large-pack');
    const started = Date.now();
    const peak = await liveBufferPeakDuring(() => backend.put('data/large', stream));
    const putMs = Date.now() - started;
    const expected = digest();
    assert.equal((await backend.stat('data/large'))?.size, size);

    const back = createHash('sha256');
    const readStarted = Date.now();
    for await (const chunk of await backend.getStream('data/large')) back.update(chunk as Buffer);
    const getMs = Date.now() - readStarted;
    assert.equal(back.digest('hex'), expected);
    console.log(
      `      64 MiB: put ${putMs} ms, get ${getMs} ms, live buffers peak ${(peak / MiB).toFixed(1)} MiB (parts of 5 MiB, 2 in flight)`,
    );
    // Two parts uploading plus one filling is 15 MiB; the whole body would be 64.
    assert.ok(peak < 40 * MiB, `live buffers grew by ${(peak / MiB).toFixed(1)} MiB`);

    // A range across the boundary between part 1 and part 2.
    const range = await backend.get('data/large', { offset: 5 * MiB - 100, length: 200 });
    const whole = await backend.get('data/large');
    assert.deepEqual(range, whole.subarray(5 * MiB - 100, 5 * MiB + 100));

    const refused = Date.now();
    await assert.rejects(backend.put('data/large', generatedStream(size, 'other').stream), AlreadyExistsError);
    assert.ok(Date.now() - refused < 5000, 'an existing key is refused before the data is sent');
    assert.equal(sha256(await backend.get('data/large')), expected);
  });

  it('sweeps multipart uploads a writer started and never completed, and only those past the grace period', async () => {
    const backend = open({ bucket: 'large', prefix: 'sweep' });
    const started = await admin.send(new CreateMultipartUploadCommand({ Bucket: 'large', Key: 'sweep/data/ab/abandoned' }));
    const other = await admin.send(new CreateMultipartUploadCommand({ Bucket: 'large', Key: 'elsewhere/data/abandoned' }));
    const pending = async (prefix: string) =>
      ((await admin.send(new ListMultipartUploadsCommand({ Bucket: 'large', Prefix: prefix }))).Uploads ?? []).map((u) => u.UploadId);
    assert.deepEqual(await backend.sweepUnfinished(3600_000), { removed: 0, bytes: 0 }, 'a young upload is left alone');
    assert.deepEqual(await pending('sweep/'), [started.UploadId]);
    assert.equal((await backend.sweepUnfinished(0)).removed, 1);
    assert.deepEqual(await pending('sweep/'), []);
    assert.deepEqual(await pending('elsewhere/'), [other.UploadId], 'uploads outside the prefix are not ours to sweep');
  });

  describe('object-lock bucket (COMPLIANCE, default retention 1 day)', () => {
    let backend: S3Backend;
    before(async () => {
      await admin.send(
        new PutObjectLockConfigurationCommand({
          Bucket: 'locked',
          ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } } },
        }),
      );
      backend = open({ bucket: 'locked', prefix: 'repo', partSize: 5 * MiB });
    });

    it('accepts ordinary and multipart writes', async () => {
      await backend.put('snapshots/s1', Buffer.from('{"snapshot":1}'));
      const { stream, sha256: digest } = generatedStream(11 * MiB, 'locked-pack');
      await backend.put('data/p1', stream);
      assert.equal(sha256(await backend.get('data/p1')), digest());
      assert.equal((await backend.get('snapshots/s1')).toString(), '{"snapshot":1}');
    });

    it('keeps write-once semantics although the bucket is versioned', async () => {
      await assert.rejects(backend.put('snapshots/s1', Buffer.from('replaced')), AlreadyExistsError);
      const versions = await admin.send(new ListObjectVersionsCommand({ Bucket: 'locked', Prefix: 'repo/snapshots/s1' }));
      assert.equal(versions.Versions?.length, 1, 'no second version was written');
    });

    it('refuses to delete a retained object with an error naming the retention, and the data stays', async () => {
      await assert.rejects(backend.delete('snapshots/s1'), (err: unknown) => {
        assert.ok(err instanceof ObjectLockedError, String(err));
        assert.match(err.message, /object-lock retention \(COMPLIANCE\) until \d{4}-\d\d-\d\dT/);
        assert.ok(err.retainUntil && err.retainUntil.getTime() > Date.now() + 23 * 3600_000);
        return true;
      });
      assert.equal((await backend.get('snapshots/s1')).toString(), '{"snapshot":1}');
    });

    it("hides a retained object when asked to (retained: 'hide'), keeping its data as a version", async () => {
      await backend.put('locks/l1', Buffer.from('lock'));
      await backend.delete('locks/l1', { retained: 'hide' });
      assert.equal(await backend.stat('locks/l1'), undefined);
      const listed = [];
      for await (const info of backend.list('locks/')) listed.push(info.key);
      assert.deepEqual(listed, []);
      const versions = await admin.send(new ListObjectVersionsCommand({ Bucket: 'locked', Prefix: 'repo/locks/l1' }));
      assert.equal(versions.Versions?.length, 1, 'the retained data is still stored');
      assert.equal(versions.DeleteMarkers?.length, 1);
    });
  });

  describe('faults injected between the backend and the server', () => {
    let proxy: FaultProxy;
    let backend: S3Backend;
    before(async () => {
      proxy = await startFaultProxy(rgw!.endpoint);
      backend = open({
        bucket: 'faults',
        prefix: 'repo',
        endpoint: proxy.endpoint,
        partSize: 5 * MiB,
        maxAttempts: 5,
        retry: { baseDelayMs: 20, maxDelayMs: 200 },
        requestTimeoutMs: 20_000,
      });
    });
    after(async () => proxy?.stop());
    afterEach(() => {
      const { armed } = proxy.counts();
      proxy.clear();
      assert.equal(armed, 0, 'every armed fault was hit');
    });

    it('completes a put after 503 SlowDown answers', async () => {
      const body = randomBytes(100_000);
      proxy.inject({ method: 'PUT', pathIncludes: 'repo/slow', times: 3, fault: { status: 503, code: 'SlowDown' } });
      await backend.put('slow', body);
      assert.equal(sha256(await backend.get('slow')), sha256(body));
    });

    it('completes reads after 500 InternalError answers and a response cut mid-body', async () => {
      const body = randomBytes(300_000);
      await backend.put('reads', body);
      proxy.inject({ method: 'GET', pathIncludes: 'repo/reads', times: 2, fault: { status: 500 } });
      proxy.inject({ method: 'GET', pathIncludes: 'repo/reads', times: 1, fault: { reset: 'mid-response' } });
      assert.equal(sha256(await backend.get('reads')), sha256(body));
      proxy.inject({ method: 'GET', pathIncludes: 'repo/reads', times: 2, fault: { reset: 'mid-response' } });
      const streamed = createHash('sha256');
      for await (const chunk of await backend.getStream('reads')) streamed.update(chunk as Buffer);
      assert.equal(streamed.digest('hex'), sha256(body), 'a streamed read resumes after a cut');
      proxy.inject({ method: 'HEAD', pathIncludes: 'repo/reads', times: 2, fault: { status: 503 } });
      assert.equal((await backend.stat('reads'))?.size, body.length);
      proxy.inject({ method: 'GET', pathIncludes: 'list-type=2', times: 2, fault: { status: 503 } });
      const listed = [];
      for await (const info of backend.list('re')) listed.push(info.key);
      assert.deepEqual(listed, ['reads']);
    });

    it('completes a streamed multipart upload whose parts lose their connection mid-upload', async () => {
      const { stream, sha256: digest } = generatedStream(17 * MiB, 'resets');
      proxy.inject({ method: 'PUT', pathIncludes: 'partNumber=2', times: 2, fault: { reset: 'mid-request' } });
      proxy.inject({ method: 'PUT', pathIncludes: 'partNumber=4', times: 1, fault: { reset: 'mid-request' } });
      proxy.inject({ method: 'POST', pathIncludes: 'uploads', times: 1, fault: { status: 503 } });
      await backend.put('multipart-resets', stream);
      assert.equal(sha256(await backend.get('multipart-resets')), digest());
      assert.equal(await openUploads('faults'), 0);
    });

    it('treats a write-once put whose answer was lost as done, not as AlreadyExists', async () => {
      const body = randomBytes(50_000);
      // The server stores the object; the client never hears so, retries, and gets 412.
      proxy.inject({ method: 'PUT', pathIncludes: 'repo/lost-answer', times: 1, fault: { reset: 'before-response' } });
      await backend.put('lost-answer', body);
      assert.equal(sha256(await backend.get('lost-answer')), sha256(body));
      // A different body under the same key is still refused after the same fault.
      proxy.inject({ method: 'PUT', pathIncludes: 'repo/lost-answer', times: 1, fault: { status: 503 } });
      await assert.rejects(backend.put('lost-answer', randomBytes(50_000)), AlreadyExistsError);
    });

    it('treats a multipart upload whose completion answer was lost as done', async () => {
      const { stream, sha256: digest } = generatedStream(7 * MiB, 'lost-complete');
      proxy.inject({ method: 'POST', pathIncludes: 'uploadId=', times: 1, fault: { reset: 'before-response' } });
      await backend.put('lost-complete', stream);
      assert.equal(sha256(await backend.get('lost-complete')), digest());
    });

    it('abandons a request the server stops answering and retries it', async () => {
      const impatient = open({
        bucket: 'faults',
        prefix: 'repo',
        endpoint: proxy.endpoint,
        requestTimeoutMs: 1000,
        retry: { baseDelayMs: 20, maxDelayMs: 200 },
      });
      const body = randomBytes(20_000);
      await impatient.put('stalled', body);
      proxy.inject({ method: 'GET', pathIncludes: 'repo/stalled', times: 1, fault: { stallMs: 30_000 } });
      const started = Date.now();
      assert.deepEqual(await impatient.get('stalled'), body);
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 10_000, `gave up on the stalled request after ${took} ms`);
    });

    it('gives up after maxAttempts with an error naming the operation and object, leaving nothing behind', async () => {
      proxy.inject({ method: 'PUT', pathIncludes: 'repo/doomed', times: 5, fault: { status: 503, code: 'SlowDown' } });
      await assert.rejects(backend.put('doomed', randomBytes(1000)), (err: unknown) => {
        assert.ok(err instanceof StorageOperationError, String(err));
        assert.equal(err.attempts, 5);
        assert.match(err.message, /^S3 PutObject s3:\/\/faults\/repo\/doomed failed after 5 attempts: HTTP 503 SlowDown/);
        return true;
      });
      assert.equal(await backend.stat('doomed'), undefined);

      const { stream } = generatedStream(12 * MiB, 'doomed-multipart');
      proxy.inject({ method: 'PUT', pathIncludes: 'partNumber=2', times: 5, fault: { reset: 'mid-request' } });
      await assert.rejects(backend.put('doomed-multipart', stream), (err: unknown) => {
        assert.ok(err instanceof StorageOperationError, String(err));
        assert.match(err.message, /^S3 UploadPart #2 s3:\/\/faults\/repo\/doomed-multipart failed after 5 attempts/);
        assert.ok(!err.message.includes(rgw!.secretAccessKey));
        return true;
      });
      assert.equal(await backend.stat('doomed-multipart'), undefined);
      assert.equal(await openUploads('faults'), 0, 'the failed multipart upload was aborted');
    });
  });

  it('reports rejected credentials clearly and without the secret', async () => {
    const secret = 'WRONG' + randomBytes(16).toString('hex');
    const backend = open({ bucket: 'contract', credentials: { accessKeyId: rgw!.accessKeyId, secretAccessKey: secret } });
    await assert.rejects(backend.put('x', Buffer.from('x')), (err: Error) => {
      assert.match(err.message, /S3 PutObject s3:\/\/contract\/x failed after 1 attempt: .*credentials were rejected/);
      assert.ok(!err.message.includes(secret));
      return true;
    });
    const missing = open({ bucket: 'no-such-bucket' });
    await assert.rejects(missing.put('x', Buffer.from('x')), /bucket does not exist/);
  });

  it('opens s3:// locations with credentials and endpoint from the standard environment variables', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: rgw!.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
      AWS_ENDPOINT_URL_S3: rgw!.endpoint,
      AWS_REGION: rgw!.region,
    });
    delete process.env.AWS_PROFILE;
    delete process.env.LIFEBOAT_S3_ENDPOINT;
    delete process.env.AWS_SESSION_TOKEN;
    try {
      const backend = openBackend('s3://contract/from-env');
      try {
        assert.equal(backend.location, `s3://contract/from-env at ${rgw!.endpoint}`);
        await backend.put('config', Buffer.from('configured by environment'));
        assert.equal((await backend.get('config')).toString(), 'configured by environment');
      } finally {
        await backend.close();
      }
    } finally {
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL_S3', 'AWS_REGION']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
      for (const name of ['AWS_PROFILE', 'LIFEBOAT_S3_ENDPOINT', 'AWS_SESSION_TOKEN']) {
        if (saved[name] !== undefined) process.env[name] = saved[name];
      }
    }
  });

  async function openUploads(bucket: string): Promise<number> {
    const res = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return res.Uploads?.length ?? 0;
  }
});
