import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';

const root = join(import.meta.dirname, '../..');

test('the buildpacks, the images\' scripts and the test script pass shellcheck (warnings and errors)', async () => {
  const bp = join(root, 'buildpacks');
  const scripts = readdirSync(bp, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'stack')
    .flatMap((d) => readdirSync(join(bp, d.name, 'bin')).map((f) => join(bp, d.name, 'bin', f)));
  assert.ok(scripts.length >= 10, scripts.join(' '));
  const extra = ['nodejs/test/semver.sh', 'python/test/version.sh', 'python/lib/version.sh', 'stack/cpython.sh', 'stack/debian-python.sh', 'java/lib/jdk.sh', 'java/test/jdk.sh'].map((f) => join(bp, f));
  // The data services' images: their entry scripts, the check and the build (images/README.md).
  const images = ['images/postgres/slipway-postgres', 'images/valkey/slipway-valkey', 'images/check.sh', 'images/build.sh', 'images/lib.sh'].map((f) => join(root, f));
  const r = await run('shellcheck', ['-S', 'warning', ...scripts, ...extra, ...images, join(root, 'scripts/test.sh')]).catch((err: unknown) => {
    throw new Error('shellcheck is not installed (scripts/provision installs it)', { cause: err });
  });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
});
