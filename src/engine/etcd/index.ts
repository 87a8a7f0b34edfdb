export { captureEtcd, ETCD_DATA_NAME, type EtcdCaptureOptions, type EtcdCaptureResult } from './capture';
export {
  EtcdConnectionError,
  etcdSnapshotStream,
  SnapshotIntegrityError,
  SnapshotVerifier,
  TRAILER_BYTES,
  type EtcdSnapshotInfo,
  type EtcdSnapshotOptions,
  type EtcdSnapshotStream,
  type VerifiedSnapshot,
} from './snapshot';
