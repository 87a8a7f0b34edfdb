import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { S3Backend, StorageOperationError } from '../../../src/engine/storage';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('S3Backend without a reachable server', () => {
  it('gives up after its attempts with an error naming the call, the object and the cause, never the secret', async () => {
    const port = await closedPort();
    const secret = 'TOPSECRET-' + Math.random().toString(36).slice(2);
    const backend = new S3Backend({
      bucket: 'repo-bucket',
      prefix: 'team',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret },
      maxAttempts: 3,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      env: {},
    });
    try {
      await assert.rejects(backend.put('config', Buffer.from('x')), (err: unknown) => {
        assert.ok(err instanceof StorageOperationError, String(err));
        assert.equal(err.attempts, 3);
        assert.match(err.message, /^S3 PutObject s3:\/\/repo-bucket\/team\/config failed after 3 attempts: .*ECONNREFUSED/);
        assert.match(err.message, /check the endpoint/);
        assert.ok(!err.message.includes(secret));
        return true;
      });
      await assert.rejects(backend.stat('config'), /S3 HeadObject s3:\/\/repo-bucket\/team\/config failed after 3 attempts/);
    } finally {
      await backend.close();
    }
  });
});
