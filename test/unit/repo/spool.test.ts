import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sweepDeadSpools } from '../../../src/engine/repo/snapshotWriter';

describe('catalog spool folders', function () {
  it('are swept when their writer died, and kept while it runs', async function () {
    const dir = await mkdtemp(path.join(tmpdir(), 'spool-test-'));
    try {
      // A pid that surely ran and is gone: a child that has exited.
      const deadPid = spawnSync('true').pid;
      await mkdir(path.join(dir, `lifeboat-catalog-${deadPid}-abc123`));
      await mkdir(path.join(dir, `lifeboat-catalog-${process.pid}-def456`));
      await mkdir(path.join(dir, 'unrelated-folder'));
      assert.equal(await sweepDeadSpools(dir), 1);
      assert.deepEqual((await readdir(dir)).sort(), [`lifeboat-catalog-${process.pid}-def456`, 'unrelated-folder']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
