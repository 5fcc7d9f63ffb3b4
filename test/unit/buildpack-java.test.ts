import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';

test("the java buildpack reads the JDK an app asks for (system.properties, pom.xml) and picks one of the builder's", async () => {
  const r = await run('bash', [join(import.meta.dirname, '../../buildpacks/java/test/jdk.sh')]);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\d+ passed, 0 failed/);
});
