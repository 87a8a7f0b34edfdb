import { strict as assert } from 'node:assert';
import type { IStatusResponse } from 'etcd3';
import { statusOf } from '../../../src/engine/etcd/maintenance';

describe('reading an etcd status answer', () => {
  const answer = (header: Partial<IStatusResponse['header']>, rest: Partial<IStatusResponse> = {}): IStatusResponse =>
    ({ header: { cluster_id: '4660', member_id: '0', revision: '0', raft_term: '5', ...header }, version: '3.4.23', dbSize: '0', ...rest }) as IStatusResponse;

  it('keeps a member id above 2^53 exact, in hex as etcdctl prints it', () => {
    const s = statusOf(answer({ member_id: (0xfedcba9876543210n).toString() }));
    assert.equal(s.memberId.toString(16), 'fedcba9876543210');
  });

  it('reads the revision, server version and database size', () => {
    const s = statusOf(answer({ revision: '987654' }, { version: '3.5.9', dbSize: '123456789' }));
    assert.deepEqual(s, { revision: 987654n, memberId: 0n, version: '3.5.9', dbSize: 123456789n });
  });

  it('counts fields an answer leaves out as zero and empty', () => {
    const s = statusOf({} as IStatusResponse);
    assert.deepEqual(s, { revision: 0n, memberId: 0n, version: '', dbSize: 0n });
  });
});
