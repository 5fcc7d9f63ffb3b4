// doctor's output with fake checks at its check interface: one line each, what to do on a failure,
// a failing check (or one that throws) makes the command fail with a count; and the registry pull
// address swap the deployer applies for nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doctorLines } from '../../server/commands/doctor.ts';
import { runChecks } from '../../server/ops/admin/doctor.ts';
import { dispatch } from '../../server/commands/registry.ts';
import type { DoctorCheck } from '../../server/health.ts';
import { makeOutput } from '../../server/output/output.ts';
import { loadConfig } from '../../server/config.ts';
import { UserError } from '../../server/errors.ts';
import { pullImage } from '../../server/deploy/kube/context.ts';
import type { CommandContext } from '../../server/commands/types.ts';

const fakes: DoctorCheck[] = [
  { name: 'docker', run: async () => ({ ok: true, detail: 'Docker 26.1.5 at unix:///var/run/docker.sock' }) },
  { name: 'registry', run: async () => ({ ok: false, detail: 'push to 127.0.0.1:5000: 127.0.0.1:5000 is not reachable', fix: 'systemctl start docker-registry' }) },
  { name: 'ssh crypto', run: async () => { throw new Error('binding exploded'); }, fix: 'rebuild it' },
];

test('one line per check, aligned, with what to do when it failed', async () => {
  const lines = doctorLines(await runChecks(fakes, new AbortController().signal));
  assert.deepEqual(lines, [
    'ok    docker      Docker 26.1.5 at unix:///var/run/docker.sock',
    'FAIL  registry    push to 127.0.0.1:5000: 127.0.0.1:5000 is not reachable → systemctl start docker-registry',
    'FAIL  ssh crypto  binding exploded → rebuild it',
  ]);
});

async function doctor(checks: DoctorCheck[], json = false) {
  const out: string[] = [];
  const ctx = {
    identity: { name: 'local', admin: true, via: 'local' },
    out: makeOutput((s) => out.push(s), { color: false }),
    services: { config: loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent' }), doctorChecks: () => checks },
    stdin: async () => '',
    signal: new AbortController().signal,
  } as unknown as CommandContext;
  let error: unknown;
  try {
    await dispatch(ctx, json ? ['doctor', '--json'] : ['doctor']);
  } catch (err) {
    error = err;
  }
  return { text: out.join(''), error };
}

test('doctor fails with the number of failed checks; passes when all pass', async () => {
  const bad = await doctor(fakes);
  assert.ok(bad.error instanceof UserError);
  assert.equal((bad.error as Error).message, '2 of 3 checks failed.');
  assert.equal(bad.text.split('\n').length, 4);
  const good = await doctor([fakes[0]!]);
  assert.equal(good.error, undefined);
  assert.equal(good.text, 'ok    docker  Docker 26.1.5 at unix:///var/run/docker.sock\n');
  const json = await doctor([fakes[0]!], true);
  assert.deepEqual(JSON.parse(json.text), [{ name: 'docker', ok: true, detail: 'Docker 26.1.5 at unix:///var/run/docker.sock' }]);
});

test('nodes pull from SLIPWAY_REGISTRY_PULL what was pushed to SLIPWAY_REGISTRY', () => {
  const pullFrom = { from: '127.0.0.1:5000', to: '10.0.0.5:5000' };
  assert.equal(pullImage('127.0.0.1:5000/slipway/web@sha256:ab', pullFrom), '10.0.0.5:5000/slipway/web@sha256:ab');
  assert.equal(pullImage('127.0.0.1:50001/x@sha256:ab', pullFrom), '127.0.0.1:50001/x@sha256:ab');
  assert.equal(pullImage('127.0.0.1:5000/slipway/web@sha256:ab', undefined), '127.0.0.1:5000/slipway/web@sha256:ab');
  assert.equal(loadConfig({ SLIPWAY_REGISTRY: 'r:1' }).registryPull, 'r:1');
  assert.equal(loadConfig({ SLIPWAY_REGISTRY: 'r:1', SLIPWAY_REGISTRY_PULL: 'n:1' }).registryPull, 'n:1');
});
