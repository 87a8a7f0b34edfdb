/**
 * The two calls of etcd's Maintenance service a snapshot needs (Status and
 * Snapshot), spoken over gRPC with their few protobuf fields decoded here.
 * Doing this by hand, rather than through a client that loads .proto files
 * from its package directory at run time, keeps the bundled CLI and
 * extension self-contained.
 */
import * as grpc from '@grpc/grpc-js';
import type { Readable } from 'node:stream';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}

export interface StatusResponse {
  header: ResponseHeader;
  version: string;
  dbSize: bigint;
}

export interface SnapshotMessage {
  remainingBytes: bigint;
  blob: Buffer;
}

/** A server-streaming call: an object-mode Readable of decoded messages. */
export type SnapshotCall = Readable & { cancel(): void };

type Field = bigint | Buffer;

/** Fields of one protobuf message by number; repeated fields keep their last value, which is all these messages need. */
function decodeFields(buf: Buffer): Map<number, Field> {
  const fields = new Map<number, Field>();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated protobuf varint in an etcd response');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    switch (key & 7) {
      case 0:
        fields.set(field, varint());
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = Number(varint());
        if (pos + len > buf.length) throw new Error('truncated protobuf field in an etcd response');
        fields.set(field, buf.subarray(pos, pos + len));
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unexpected protobuf wire type ${key & 7} in an etcd response`);
    }
  }
  return fields;
}

const int = (v: Field | undefined): bigint => (typeof v === 'bigint' ? v : 0n);
const bytes = (v: Field | undefined): Buffer => (Buffer.isBuffer(v) ? v : Buffer.alloc(0));

export function decodeHeader(buf: Buffer): ResponseHeader {
  const f = decodeFields(buf);
  // int64 revision arrives as a two's-complement varint; it is never negative in practice.
  return { clusterId: int(f.get(1)), memberId: int(f.get(2)), revision: BigInt.asIntN(64, int(f.get(3))), raftTerm: int(f.get(4)) };
}

export function decodeStatus(buf: Buffer): StatusResponse {
  const f = decodeFields(buf);
  return { header: decodeHeader(bytes(f.get(1))), version: bytes(f.get(2)).toString('utf8'), dbSize: BigInt.asIntN(64, int(f.get(3))) };
}

export function decodeSnapshotMessage(buf: Buffer): SnapshotMessage {
  const f = decodeFields(buf);
  return { remainingBytes: int(f.get(2)), blob: bytes(f.get(3)) };
}

/** Both requests are empty messages. */
const emptyRequest = (): Buffer => Buffer.alloc(0);

export class MaintenanceClient {
  private readonly client: grpc.Client;

  /** `endpoint` is "http(s)://HOST:PORT"; https uses `tls` (system roots without a CA). */
  constructor(readonly endpoint: string, tls: TlsMaterial | undefined) {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`etcd endpoint ${endpoint} must start with http:// or https://`);
    }
    const secure = url.protocol === 'https:' || Boolean(tls?.ca || tls?.cert);
    const credentials = secure
      ? grpc.credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null)
      : grpc.credentials.createInsecure();
    const port = url.port || '2379';
    this.client = new grpc.Client(`${url.hostname}:${port}`, credentials, {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
    });
  }

  status(deadlineMs: number): Promise<StatusResponse> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        '/etcdserverpb.Maintenance/Status',
        emptyRequest,
        decodeStatus,
        {},
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err || !res ? reject(err ?? new Error('empty status response')) : resolve(res)),
      );
    });
  }

  snapshot(): SnapshotCall {
    return this.client.makeServerStreamRequest(
      '/etcdserverpb.Maintenance/Snapshot',
      emptyRequest,
      decodeSnapshotMessage,
      {},
      new grpc.Metadata(),
      {},
    ) as unknown as SnapshotCall;
  }

  close(): void {
    this.client.close();
  }
}
