// Java on the offline builder, the way a user meets it: `git push` over SSH to an in-process
// Slipway, a real pack build (Debian's OpenJDK in the build image, dependencies from Maven
// Central), the real Kubernetes deployer, and the app's answer through the ingress. Also what an
// app in a language the builder lacks gets: one sentence naming builder:set, nothing deployed.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, pushApp, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
/** A cold Maven build downloads Maven (mvnw) and a Spring Boot app's dependencies on a busy machine. */
const PUSH_MS = 10 * 60_000;
/** Spring Boot starts in seconds with a whole CPU, longer with the default half. */
const ROUTE_MS = 3 * 60_000;

const APPS = {
  boot: `java-boot-${suffix}`,
  maven: `java-maven-${suffix}`,
  old: `java-old-${suffix}`,
  gradle: `java-gradle-${suffix}`,
  ruby: `java-ruby-${suffix}`,
} as const;

describe('java: Maven apps on the offline builder; languages it lacks are named', { timeout: 60 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  const host = (app: string) => `${app}.${BASE_DOMAIN}`;

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS }) ?? {});
  });
  after(() => destroyApps(s, builder, APPS));

  const deployed = (app: string, dir: string) => deployApp(s!, app, dir);
  /** Pushes an app that must be refused, and returns the one ` !` line the push ends with. */
  async function refused(app: string, dir: string): Promise<string> {
    const { code, lines } = await pushApp(s!, app, dir);
    assert.notEqual(code, 0, lines.join('\n'));
    assert.ok(!lines.includes('=====> Application deployed:'), lines.join('\n'));
    const said = lines.filter((l) => l.startsWith(' !     The build failed: '));
    assert.equal(said.length, 1, lines.join('\n'));
    return said[0]!;
  }
  const has = (lines: string[], line: string) => assert.ok(lines.includes(line), `no line "${line}" in:\n${lines.join('\n')}`);
  const builderSet = 'choose a builder that has it with builder:set APP IMAGE, e.g. heroku/builder:24 on a server that can reach its registry.';

  test('a Spring Boot app as start.spring.io makes it (mvnw, no Procfile) starts its jar on the JDK its pom names; a code-only change reuses the runtime and the dependencies', { timeout: 2 * PUSH_MS + 2 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('spring-boot-app');
    await s.commitAll(dir, 'spring boot app');
    const first = await deployed(APPS.boot, dir);
    has(first, "-----> Using JDK 17 (from pom.xml's java.version)");
    has(first, '-----> Using Maven 3.9.11 (from .mvn/wrapper/maven-wrapper.properties, through mvnw)');
    has(first, '-----> Default process: web = java -Dserver.port=$PORT $JAVA_OPTS -jar target/demo-0.0.1-SNAPSHOT.jar');
    const want = 'hello from spring boot on java 17\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.boot), (b) => b === want, ROUTE_MS), want);

    const source = join(dir, 'src/main/java/com/example/demo/DemoApplication.java');
    writeFileSync(source, readFileSync(source, 'utf8').replace('"hello from spring boot', '"hello again from spring boot'));
    await s.commitAll(dir, 'code change');
    const second = await deployed(APPS.boot, dir);
    has(second, '-----> Reusing the Java 17 runtime');
    assert.ok(second.some((l) => /Reusing layer 'slipway\/java:jre'/.test(l)), second.join('\n'));
    assert.ok(!second.some((l) => l.includes('mvnw: downloading')), second.join('\n'));
    const again = 'hello again from spring boot on java 17\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.boot), (b) => b === again, ROUTE_MS), again);
  });

  test("a plain Maven app with a Procfile runs on the JDK system.properties pins, built by the builder's Maven", { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('maven-app');
    await s.commitAll(dir, 'maven app');
    const lines = await deployed(APPS.maven, dir);
    has(lines, '-----> Using JDK 25 (from system.properties)');
    assert.ok(lines.some((l) => /^-----> Using Maven 3\.\d+\.\d+ \(this builder's\)$/.test(l)), lines.join('\n'));
    has(lines, '       web: java $JAVA_OPTS -cp target/classes com.example.Main');
    const want = 'hello from maven on java 25\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.maven), (b) => b === want, ROUTE_MS), want);
  });

  test('a JDK the builder lacks (java.runtime.version=1.8) is refused in one sentence naming those it has', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('maven-app');
    writeFileSync(join(dir, 'system.properties'), 'java.runtime.version=1.8\n');
    await s.commitAll(dir, 'java 8');
    assert.equal(await refused(APPS.old, dir), ' !     The build failed: system.properties asks for Java 1.8, which this builder does not have: it has 17, 21 and 25 (set java.runtime.version to one of them)');
  });

  test('a Gradle app (a Procfile too) is told in one sentence that this builder has no Gradle', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('gradle-app');
    await s.commitAll(dir, 'gradle app');
    assert.equal(await refused(APPS.gradle, dir), ` !     The build failed: this app builds with Gradle (build.gradle), which this offline builder does not have (no Gradle distribution is reachable from the package registries it uses): add a pom.xml to build with Maven, or ${builderSet}`);
  });

  test('a Ruby app (a Procfile and a package.json too) is told in one sentence to use a builder that has Ruby', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('ruby-app');
    await s.commitAll(dir, 'sinatra app');
    assert.equal(await refused(APPS.ruby, dir), ` !     The build failed: this app is Ruby (Gemfile), which this offline builder does not build: ${builderSet}`);
  });
});
