import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';

test("the python buildpack picks the interpreter the app's runtime.txt, .python-version or requires-python asks for, and refuses one it lacks in one sentence", async () => {
  const r = await run('bash', [join(import.meta.dirname, '../../buildpacks/python/test/version.sh')]);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^\d+ passed, 0 failed$/m);
});
