/**
 * Codec choice for blob compression: ratio and speed of deflate and brotli
 * levels on 1 MiB blobs of the kinds a repository stores. Prints a table,
 * asserts nothing.   npx tsx bench/repo-compression.ts
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';

const MiB = 1024 * 1024;

/** Kubernetes objects as the API returns them: repetitive keys, varied values. */
function manifests(size: number): Buffer {
  const out: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const o = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: `svc-${i}`,
        namespace: `team-${i % 17}`,
        uid: randomBytes(16).toString('hex'),
        resourceVersion: String(100000 + i * 7),
        labels: { app: `svc-${i}`, tier: i % 2 ? 'web' : 'api', 'app.kubernetes.io/managed-by': 'helm' },
        annotations: { 'deployment.kubernetes.io/revision': String(i % 9) },
      },
      spec: {
        replicas: 1 + (i % 5),
        selector: { matchLabels: { app: `svc-${i}` } },
        template: {
          metadata: { labels: { app: `svc-${i}` } },
          spec: {
            containers: [
              {
                name: 'main',
                image: `registry.example.com/team-${i % 17}/svc-${i}:1.${i % 30}.${i % 7}`,
                ports: [{ containerPort: 8080, protocol: 'TCP' }],
                env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'REGION', value: 'eu-west-1' }],
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              },
            ],
          },
        },
      },
    };
    const s = JSON.stringify(o);
    out.push(s);
    n += s.length;
  }
  return Buffer.from(out.join('\n')).subarray(0, size);
}

function logs(size: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const l = `2026-11-22T03:${String(i % 60).padStart(2, '0')}:00Z INFO request id=${randomBytes(4).toString('hex')} path=/api/v1/items/${i % 977} status=200 dur=${i % 113}ms\n`;
    lines.push(l);
    n += l.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

const sets: Record<string, Buffer> = {
  'Kubernetes JSON': manifests(8 * MiB),
  'log text': logs(8 * MiB),
  'executable binary': readFileSync(process.execPath).subarray(0, 16 * MiB),
  random: createCipheriv('aes-256-ctr', randomBytes(32), Buffer.alloc(16)).update(Buffer.alloc(8 * MiB)),
};

const q = zlib.constants.BROTLI_PARAM_QUALITY;
const codecs: Record<string, (b: Buffer) => Buffer> = {
  'deflate-1': (b) => zlib.deflateRawSync(b, { level: 1 }),
  'deflate-6': (b) => zlib.deflateRawSync(b, { level: 6 }),
  'brotli-1': (b) => zlib.brotliCompressSync(b, { params: { [q]: 1, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
  'brotli-2': (b) => zlib.brotliCompressSync(b, { params: { [q]: 2 } }),
  'brotli-3': (b) => zlib.brotliCompressSync(b, { params: { [q]: 3 } }),
};

console.log(`| data | ${Object.keys(codecs).join(' | ')} |`);
console.log(`| --- |${' --- |'.repeat(Object.keys(codecs).length)}`);
for (const [name, data] of Object.entries(sets)) {
  const cells: string[] = [];
  for (const f of Object.values(codecs)) {
    const t = process.hrtime.bigint();
    let out = 0;
    for (let o = 0; o < data.length; o += MiB) out += f(data.subarray(o, o + MiB)).length;
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    cells.push(`${(out / data.length).toFixed(3)} / ${(data.length / MiB / s).toFixed(0)}`);
  }
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
