// etcd3 reads its gRPC service definitions (.proto files) from its own package
// folder when it is first loaded. Bundled, that folder is gone: this rewrites
// the path to a folder next to the bundle and copies the files there.
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Folder, next to the bundle, the .proto files are copied to. */
export const ETCD3_PROTO_DIR = 'etcd3-proto';

const ORIGINAL_PATH = '`${__dirname}/../proto/rpc.proto`';
const BUNDLED_PATH = '`${__dirname}/' + ETCD3_PROTO_DIR + '/rpc.proto`';

/** esbuild plugin pointing etcd3's .proto path at ETCD3_PROTO_DIR beside the output file. */
export const etcd3ProtoPlugin = {
  name: 'etcd3-proto',
  setup(build) {
    build.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(ORIGINAL_PATH)) {
        // A new etcd3 version loads its definitions some other way: fail the build, not the first snapshot.
        return { errors: [{ text: `etcd3's ${args.path} no longer loads ${ORIGINAL_PATH}; update scripts/etcd3-bundle.mjs` }] };
      }
      return { contents: source.replace(ORIGINAL_PATH, BUNDLED_PATH), loader: 'js' };
    });
  },
};

/** Copies every .proto of etcd3 (rpc.proto imports the others) into OUTDIR/etcd3-proto. */
export function copyEtcd3Protos(outDir) {
  const require = createRequire(import.meta.url);
  const source = join(dirname(require.resolve('etcd3')), '..', 'proto');
  const target = join(outDir, ETCD3_PROTO_DIR);
  mkdirSync(target, { recursive: true });
  const files = readdirSync(source).filter((f) => f.endsWith('.proto'));
  if (!files.includes('rpc.proto')) throw new Error(`etcd3's rpc.proto is not in ${source}`);
  for (const f of files) copyFileSync(join(source, f), join(target, f));
  return files;
}
