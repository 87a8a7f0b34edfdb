import { randomBytes } from 'node:crypto';

/**
 * The per-repository gear table of FastCDC (§6): 256 random 32-bit values.
 * Secret (it lives in the sealed part of config) so that chunk boundaries,
 * and through them file sizes, cannot be predicted from outside.
 */
export const GEAR_SIZE = 256;
export const GEAR_BYTES = GEAR_SIZE * 4;

export function randomGear(): Uint32Array {
  return decodeGear(randomBytes(GEAR_BYTES));
}

export function encodeGear(gear: Uint32Array): Buffer {
  const b = Buffer.alloc(GEAR_BYTES);
  for (let i = 0; i < GEAR_SIZE; i++) b.writeUInt32BE(gear[i], i * 4);
  return b;
}

export function decodeGear(bytes: Buffer): Uint32Array {
  if (bytes.length !== GEAR_BYTES) throw new Error(`gear table has ${bytes.length} bytes, expected ${GEAR_BYTES}`);
  const g = new Uint32Array(GEAR_SIZE);
  for (let i = 0; i < GEAR_SIZE; i++) g[i] = bytes.readUInt32BE(i * 4);
  return g;
}
