import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorageBackend } from './backend';
import { LocalBackend } from './local';
import { redactUrl, resolveS3Connection, S3Backend, type S3Options } from './s3';

/**
 * Repository locations as users type them:
 *   s3://BUCKET[/PREFIX]       an S3 bucket (endpoint, region and addressing
 *                              from options, then LIFEBOAT_S3_ENDPOINT,
 *                              AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
 *                              AWS_REGION / AWS_DEFAULT_REGION, LIFEBOAT_S3_PATH_STYLE)
 *   file:///abs/path, /abs/path, relative/path, C:\path
 *                              a local directory
 */
export type ParsedLocation =
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'local'; path: string };

export interface OpenOptions {
  s3?: Partial<S3Options>;
  /** Environment for S3 defaults (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function parseLocation(location: string): ParsedLocation {
  const trimmed = (location ?? '').trim();
  if (!trimmed) throw new Error('repository location is empty: give a directory path or s3://BUCKET/PREFIX');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):\/\//.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 's3') {
    const rest = trimmed.slice('s3://'.length);
    if (rest.includes('@')) {
      throw new Error('repository location s3://… must not contain credentials: use AWS_ACCESS_KEY_ID / AWS_PROFILE instead');
    }
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
    if (!bucket) throw new Error(`repository location ${JSON.stringify(trimmed)} names no bucket: use s3://BUCKET/PREFIX`);
    return { kind: 's3', bucket, prefix };
  }
  if (scheme === 'file') {
    let p: string;
    try {
      p = fileURLToPath(trimmed);
    } catch (err) {
      throw new Error(`repository location ${JSON.stringify(trimmed)} is not a valid file:// URL: ${(err as Error).message}`);
    }
    return { kind: 'local', path: path.resolve(p) };
  }
  if (scheme !== undefined) {
    throw new Error(
      `repository location ${JSON.stringify(redactUrl(trimmed))} uses an unsupported scheme "${scheme}://": ` +
        'use a directory path, file:///path or s3://BUCKET/PREFIX',
    );
  }
  return { kind: 'local', path: path.resolve(trimmed) };
}

export function openBackend(location: string, options: OpenOptions = {}): StorageBackend {
  const parsed = parseLocation(location);
  if (parsed.kind === 'local') return new LocalBackend(parsed.path);
  return new S3Backend({
    ...options.s3,
    env: options.s3?.env ?? options.env,
    bucket: parsed.bucket,
    prefix: parsed.prefix,
  });
}

/** The location for messages and logs: canonical, without credentials or query strings. */
export function describeLocation(location: string, options: OpenOptions = {}): string {
  let parsed: ParsedLocation;
  try {
    parsed = parseLocation(location);
  } catch {
    return redactUrl(String(location ?? '').trim()).replace(/\/\/[^@/]*@/, '//');
  }
  if (parsed.kind === 'local') return parsed.path;
  let where = '';
  try {
    const conn = resolveS3Connection({ ...options.s3, env: options.s3?.env ?? options.env });
    if (conn.endpoint) where = ` at ${redactUrl(conn.endpoint)}`;
  } catch {
    // An unusable endpoint is reported when the backend is opened.
  }
  return `s3://${parsed.bucket}${parsed.prefix ? '/' + parsed.prefix : ''}${where}`;
}
