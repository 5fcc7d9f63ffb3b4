import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';

const bp = join(import.meta.dirname, '../../buildpacks/unsupported/bin');

/** Runs one of the buildpack's scripts in a directory holding `files`. */
async function inApp(files: string[], script: string, args: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-unsupported-'));
  try {
    for (const f of files) writeFileSync(join(dir, f), '');
    return await run('bash', [join(bp, script), ...args], { cwd: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the unsupported-language buildpack recognizes what heroku/builder:24 builds and this builder does not', async () => {
  const cases: [string[], string][] = [
    [['Gemfile', 'package.json', 'Procfile'], 'Ruby'],
    [['composer.json'], 'PHP'],
    [['index.php'], 'PHP'],
    [['build.gradle', 'settings.gradle', 'Procfile'], 'Gradle'],
    [['build.gradle.kts'], 'Gradle'],
    [['gradlew'], 'Gradle'],
    [['build.gradle', 'pom.xml'], ''],
    [['build.sbt'], 'Scala (sbt)'],
    [['Web.csproj'], '.NET'],
    [['package.json', 'server.js'], ''],
    [['requirements.txt', 'Procfile'], ''],
  ];
  for (const [files, want] of cases) {
    const r = await inApp(files, 'build', ['--which']);
    assert.equal(r.stdout, want, files.join(' '));
    const detect = await inApp(files, 'detect');
    assert.equal(detect.exitCode, want ? 0 : 100, files.join(' '));
    assert.equal(detect.stdout, '', 'detect prints nothing, pass or fail');
  }
});

test('its build fails with one sentence naming the language and builder:set', async () => {
  const ruby = await inApp(['Gemfile'], 'build', ['/layers']);
  assert.equal(ruby.exitCode, 1);
  assert.equal(ruby.stdout, ' !     this app is Ruby (Gemfile), which this offline builder does not build: choose a builder that has it with builder:set APP IMAGE, e.g. heroku/builder:24 on a server that can reach its registry.');
  const gradle = await inApp(['build.gradle.kts', 'gradlew'], 'build', ['/layers']);
  assert.equal(gradle.exitCode, 1);
  assert.match(gradle.stdout, /^ ! {5}this app builds with Gradle \(build\.gradle\.kts\), which this offline builder does not have \(no Gradle distribution is reachable from the package registries it uses\): add a pom\.xml to build with Maven, or choose a builder that has it with builder:set APP IMAGE/);
});
