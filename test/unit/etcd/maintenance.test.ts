import { strict as assert } from 'node:assert';
import { decodeSnapshotMessage, decodeStatus } from '../../../src/engine/etcd/maintenance';

/** Minimal protobuf writer for building responses as etcd's server encodes them. */
function varint(n: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}
const tag = (field: number, wire: number): Buffer => varint(BigInt((field << 3) | wire));
const int = (field: number, n: bigint): Buffer => Buffer.concat([tag(field, 0), varint(n)]);
const bytes = (field: number, b: Buffer): Buffer => Buffer.concat([tag(field, 2), varint(BigInt(b.length)), b]);

describe('decoding etcd Maintenance responses', () => {
  const memberId = 0xfedcba9876543210n; // above 2^53: must not lose precision
  const header = Buffer.concat([int(1, 0x1234n), int(2, memberId), int(3, 987654n), int(4, 5n)]);

  it('reads the status header, server version and database size', () => {
    const msg = Buffer.concat([
      bytes(1, header),
      bytes(2, Buffer.from('3.4.23')),
      int(3, 123456789n),
      int(4, memberId),
      // Fields of newer servers this client does not know: skipped.
      bytes(8, Buffer.from('an error')),
      Buffer.concat([tag(11, 1), Buffer.alloc(8, 0xff)]),
      Buffer.concat([tag(12, 5), Buffer.alloc(4, 0xff)]),
      int(10, 1n),
    ]);
    const s = decodeStatus(msg);
    assert.equal(s.header.memberId, memberId);
    assert.equal(s.header.memberId.toString(16), 'fedcba9876543210');
    assert.equal(s.header.revision, 987654n);
    assert.equal(s.header.clusterId, 0x1234n);
    assert.equal(s.version, '3.4.23');
    assert.equal(s.dbSize, 123456789n);
  });

  it('gives zero and empty values for fields a response leaves out', () => {
    const s = decodeStatus(Buffer.alloc(0));
    assert.deepEqual(s, { header: { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n }, version: '', dbSize: 0n });
  });

  it('reads a snapshot message blob as the exact bytes sent', () => {
    const blob = Buffer.from([0, 1, 2, 0xff, 0x80, 0x7f]);
    const m = decodeSnapshotMessage(Buffer.concat([bytes(1, header), int(2, 1000n), bytes(3, blob)]));
    assert.ok(m.blob.equals(blob));
    assert.equal(m.remainingBytes, 1000n);
  });

  it('refuses a truncated message instead of inventing data', () => {
    const whole = bytes(3, Buffer.alloc(100, 1));
    assert.throws(() => decodeSnapshotMessage(whole.subarray(0, 50)), /truncated protobuf field/);
    assert.throws(() => decodeSnapshotMessage(Buffer.from([0x18, 0x80])), /truncated protobuf varint/);
  });
});
