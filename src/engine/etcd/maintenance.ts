/**
 * The two calls of etcd's Maintenance service a snapshot needs (Status and
 * Snapshot), made through the etcd3 client against one member at a time, so
 * that endpoints are tried in the order the user gave them.
 */
import { Etcd3, type IOptions, type IStatusResponse } from 'etcd3';
import type { Readable } from 'node:stream';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface StatusResponse {
  revision: bigint;
  memberId: bigint;
  version: string;
  dbSize: bigint;
}

export interface SnapshotMessage {
  blob: Buffer;
}

/** A server-streaming call: an object-mode Readable of snapshot messages. */
export type SnapshotCall = Readable & { cancel(): void };

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * etcd3 only ever calls execute() on its policies. Running each call once, as
 * it is, leaves retrying and moving to another member to the caller, and keeps
 * a status deadline what it says.
 */
const once = { execute: async (fn: () => unknown) => fn() } as unknown as Policy;

/** etcd3 gives 64-bit integers as decimal strings; missing ones count as zero. */
const int64 = (v: string | undefined): bigint => (v ? BigInt(v) : 0n);

export function statusOf(res: IStatusResponse): StatusResponse {
  return {
    revision: int64(res.header?.revision),
    memberId: BigInt.asUintN(64, int64(res.header?.member_id)),
    version: res.version ?? '',
    dbSize: int64(res.dbSize),
  };
}

export class MaintenanceClient {
  private readonly client: Etcd3;

  /** `endpoint` is "http(s)://HOST:PORT"; https uses `tls` (system roots without a CA). */
  constructor(readonly endpoint: string, tls: TlsMaterial | undefined) {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`etcd endpoint ${endpoint} must start with http:// or https://`);
    }
    const port = url.port || '2379';
    this.client = new Etcd3({
      hosts: `${url.protocol}//${url.hostname}:${port}`,
      // gRPC takes a missing root certificate as "trust the system's roots".
      credentials: tls ? { rootCertificate: (tls.ca ?? null) as Buffer, privateKey: tls.key, certChain: tls.cert } : undefined,
      grpcOptions: {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.initial_reconnect_backoff_ms': 200,
      },
      faultHandling: { global: once, host: () => once },
    });
  }

  async status(deadlineMs: number): Promise<StatusResponse> {
    return statusOf(await this.client.maintenance.status({ deadline: Date.now() + deadlineMs }));
  }

  /** etcd3 types the stream loosely; at run time it is gRPC's object-mode Readable. */
  async snapshot(): Promise<SnapshotCall> {
    return (await this.client.maintenance.snapshot()) as unknown as SnapshotCall;
  }

  close(): void {
    this.client.close();
  }
}
