import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';

test("the nodejs buildpack's engines.node matcher agrees with node-semver's table", async () => {
  const r = await run('bash', [join(import.meta.dirname, '../../buildpacks/nodejs/test/semver.sh')]);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\d+ passed, 0 failed/);
});
