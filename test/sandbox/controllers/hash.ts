/**
 * The short hashes controllers put in names and labels (pod-template-hash,
 * controller-revision-hash): FNV-1a over the template, printed in the
 * vowel-free alphabet Kubernetes uses so names never spell words.
 */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function safeEncode(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE[ch.charCodeAt(0) % SAFE.length];
  return out;
}

/** The hash of a pod template (plus collision count), as a label-safe string. */
export function templateHash(template: unknown, collisionCount = 0): string {
  return safeEncode(String(fnv32a(stableJson(template) + (collisionCount ? `#${collisionCount}` : ''))));
}

/** A random suffix like the ones generateName produces. */
export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += SAFE[Math.floor(Math.random() * SAFE.length)];
  return out;
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
