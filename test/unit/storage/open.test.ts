import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  describeLocation,
  LocalBackend,
  openBackend,
  parseLocation,
  resolveS3Connection,
  S3Backend,
} from '../../../src/engine/storage';

describe('repository locations', () => {
  it('reads s3://BUCKET/PREFIX as an S3 bucket and prefix', () => {
    assert.deepEqual(parseLocation('s3://backups/team/prod'), { kind: 's3', bucket: 'backups', prefix: 'team/prod' });
    assert.deepEqual(parseLocation('s3://backups'), { kind: 's3', bucket: 'backups', prefix: '' });
    assert.deepEqual(parseLocation('s3://backups/repo/'), { kind: 's3', bucket: 'backups', prefix: 'repo' });
  });

  it('reads anything else as a local directory, file:// URLs included', () => {
    assert.deepEqual(parseLocation('/var/lib/lifeboat'), { kind: 'local', path: '/var/lib/lifeboat' });
    assert.deepEqual(parseLocation('rel/repo'), { kind: 'local', path: path.resolve('rel/repo') });
    const url = pathToFileURL('/tmp/with space/repo').href;
    assert.deepEqual(parseLocation(url), { kind: 'local', path: '/tmp/with space/repo' });
  });

  it('refuses empty locations, unknown schemes and credentials in the location, saying what to use', () => {
    assert.throws(() => parseLocation('  '), /empty/);
    assert.throws(() => parseLocation('s3://'), /names no bucket/);
    assert.throws(() => parseLocation('gs://bucket/x'), /unsupported scheme "gs:\/\/".*s3:\/\/BUCKET/);
    assert.throws(() => parseLocation('s3://AKIA:secret@bucket/x'), (err: Error) => !err.message.includes('secret'));
  });

  it('opens the backend the location names', async () => {
    const local = openBackend('/tmp/lifeboat-open-test');
    assert.ok(local instanceof LocalBackend);
    assert.equal(local.location, '/tmp/lifeboat-open-test');
    const s3 = openBackend('s3://my-bucket/a/b', { env: {}, s3: { endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'AK', secretAccessKey: 'SECRETVALUE' } } });
    assert.ok(s3 instanceof S3Backend);
    assert.equal(s3.bucket, 'my-bucket');
    assert.equal(s3.prefix, 'a/b');
    assert.equal(s3.location, 's3://my-bucket/a/b at http://127.0.0.1:9');
    assert.ok(!s3.location.includes('SECRETVALUE'));
    await s3.close();
  });

  it('takes endpoint, region and addressing from options first, then the environment', () => {
    const env = {
      LIFEBOAT_S3_ENDPOINT: 'http://lifeboat:1',
      AWS_ENDPOINT_URL_S3: 'http://s3-specific:2',
      AWS_ENDPOINT_URL: 'http://generic:3',
      AWS_REGION: 'eu-west-3',
      AWS_DEFAULT_REGION: 'ap-south-1',
    };
    assert.equal(resolveS3Connection({ env, endpoint: 'http://given:0' }).endpoint, 'http://given:0');
    assert.equal(resolveS3Connection({ env }).endpoint, 'http://lifeboat:1');
    assert.equal(resolveS3Connection({ env: { ...env, LIFEBOAT_S3_ENDPOINT: undefined } }).endpoint, 'http://s3-specific:2');
    assert.equal(resolveS3Connection({ env: { AWS_ENDPOINT_URL: 'http://generic:3' } }).endpoint, 'http://generic:3');
    assert.equal(resolveS3Connection({ env }).region, 'eu-west-3');
    assert.equal(resolveS3Connection({ env: { AWS_DEFAULT_REGION: 'ap-south-1' } }).region, 'ap-south-1');
    assert.equal(resolveS3Connection({ env: {} }).region, 'us-east-1');
    assert.equal(resolveS3Connection({ env: {}, region: 'ca-central-1' }).region, 'ca-central-1');
  });

  it('uses path-style addressing for custom endpoints unless told otherwise', () => {
    assert.equal(resolveS3Connection({ env: {} }).forcePathStyle, false);
    assert.equal(resolveS3Connection({ env: {}, endpoint: 'http://127.0.0.1:7480' }).forcePathStyle, true);
    assert.equal(resolveS3Connection({ env: { LIFEBOAT_S3_PATH_STYLE: 'false' }, endpoint: 'http://x:1' }).forcePathStyle, false);
    assert.equal(resolveS3Connection({ env: { LIFEBOAT_S3_PATH_STYLE: 'true' } }).forcePathStyle, true);
    assert.equal(resolveS3Connection({ env: { LIFEBOAT_S3_PATH_STYLE: 'true' }, forcePathStyle: false }).forcePathStyle, false);
    assert.throws(() => resolveS3Connection({ env: { LIFEBOAT_S3_PATH_STYLE: 'maybe' } }), /LIFEBOAT_S3_PATH_STYLE.*true or false/);
    assert.throws(() => resolveS3Connection({ env: {}, endpoint: 'ftp://host' }), /http:\/\/ or https:\/\//);
  });

  it('describes a location for messages without credentials or query strings', () => {
    assert.equal(describeLocation('/srv/repo'), '/srv/repo');
    assert.equal(describeLocation('s3://b/p', { env: {} }), 's3://b/p');
    assert.equal(
      describeLocation('s3://b/p', { env: { AWS_ENDPOINT_URL: 'https://user:pw@minio.example:9000/?token=t' } }),
      's3://b/p at https://minio.example:9000',
    );
    assert.ok(!describeLocation('s3://AKIA:topsecret@b/p').includes('topsecret'));
    assert.ok(!describeLocation('https://u:topsecret@host/x?sig=abc').includes('topsecret'));
  });

  it('refuses bad S3 settings with a message naming the setting', () => {
    assert.throws(() => new S3Backend({ bucket: 'my bucket', env: {} }), /bucket name "my bucket" is not valid/);
    assert.throws(() => new S3Backend({ bucket: 'ab', env: {} }), /bucket name "ab" is not valid/);
    assert.throws(() => new S3Backend({ bucket: 'ok-bucket', partSize: 1024, env: {} }), /part size 1024 is too small/);
    assert.throws(() => new S3Backend({ bucket: 'ok-bucket', prefix: 'a/../b', env: {} }), /\.\./);
  });
});
