// End-to-end tests need the real testbed (Docker engine, registry, pack, the offline builder,
// Kubernetes). In CI a missing piece fails the test; elsewhere the test is skipped and says why.
import type { TestContext } from 'node:test';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The testbed's exports, if all of `names` are set (no side effects: for before-hooks). */
export function testbedEnv(names: readonly string[]): Record<string, string> | undefined {
  return names.every((n) => process.env[n]) ? Object.fromEntries(names.map((n) => [n, process.env[n]!])) : undefined;
}

/** The testbed's exports a test needs, or undefined after skipping (outside CI) the test. */
export function needTestbed(t: TestContext, names: readonly string[]): Record<string, string> | undefined {
  const env = testbedEnv(names);
  if (env) return env;
  const missing = names.filter((n) => !process.env[n]);
  const why = `the testbed is not up (missing ${missing.join(', ')}); run: eval "$(npm run -s testbed)"`;
  if (process.env.CI) throw new Error(`${why} — CI must run end-to-end tests, not skip them`);
  process.stderr.write(`skipping "${t.name}": ${why}\n`);
  t.skip(why);
  return undefined;
}

/** A private copy of a fixture app under test/fixtures, to commit and push. */
export function fixtureCopy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `slipway-fixture-${name}-`));
  cpSync(join(import.meta.dirname, '..', 'fixtures', name), dir, { recursive: true });
  return dir;
}
