import type { Plugin } from 'esbuild';

export declare const ETCD3_PROTO_DIR: string;
export declare const etcd3ProtoPlugin: Plugin;
export declare function copyEtcd3Protos(outDir: string): string[];
