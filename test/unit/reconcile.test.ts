// Start-up reconciliation's pure parts: when the cluster's Deployments differ from the database's
// current release, which stale locks are cleared, and which pod owners count as gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { drift } from '../../server/ops/admin/reconcile.ts';
import { ownerAlive, processOwner } from '../../server/process.ts';
import { openStore } from '../../server/store/index.ts';

const v3 = { version: 3, processes: [{ type: 'web', command: ['node'] }, { type: 'worker', command: ['w'] }, { type: 'release', command: ['m'] }], formation: { worker: 2 } };

test('drift: matching Deployments are no drift; another release, other replicas, a missing or extra type are', () => {
  const same = [{ process: 'web', release: 3, replicas: 1 }, { process: 'worker', release: 3, replicas: 2 }];
  assert.equal(drift(v3, same), undefined);
  // The crash of issue 16: killed at `web: 0/1 ready`, the database says v3, the cluster runs v5.
  assert.equal(drift(v3, [{ process: 'web', release: 5, replicas: 1 }, same[1]!]), 'web runs v5, the database says v3');
  assert.equal(drift(v3, [same[0]!, { process: 'worker', release: 3, replicas: 5 }]), 'worker runs 5 instances, the database says 2');
  assert.equal(drift(v3, [same[0]!]), 'worker of v3 is not in the cluster');
  assert.equal(drift(v3, [...same, { process: 'clock', release: 5, replicas: 1 }]), 'clock runs v5, which v3 does not have');
  // A first push killed mid-rollout: nothing deployed, yet something runs.
  assert.equal(drift(undefined, [{ process: 'web', release: 1, replicas: 1 }]), 'web runs v1, which no release that deployed has');
  assert.equal(drift(undefined, []), undefined);
});

test('ownerAlive: this process is alive, a dead pid on this host is not, another host cannot be judged and counts as alive', () => {
  assert.equal(ownerAlive(processOwner()), true);
  const dead = spawnSync('true').pid!;
  assert.equal(ownerAlive(`${hostname()}/${dead}/1`), false);
  // Same pid, another start time: the pid was reused by an unrelated process.
  assert.equal(ownerAlive(`${hostname()}/${process.pid}/1`), false);
  assert.equal(ownerAlive(`elsewhere.example/${dead}/1`), true);
  assert.equal(ownerAlive('garbage'), false);
});

test('clearStaleLocks clears locks of processes that are gone and keeps a live holder\'s', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-reconcile-'));
  const s = openStore(join(dir, 'slipway.db'));
  try {
    s.apps.create('a');
    s.apps.create('b');
    const dead = spawnSync('true').pid!;
    assert.equal(s.apps.lock('a', 'push by crashed server', dead).ok, true);
    assert.equal(s.apps.lock('b', 'config:set by the local CLI').ok, true);
    assert.equal(s.apps.clearStaleLocks(), 1);
    assert.equal(s.apps.get('a')?.lock, null);
    assert.equal(s.apps.get('b')?.lock?.owner, 'config:set by the local CLI');
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
