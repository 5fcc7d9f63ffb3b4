// Config vars as text over the real SSH server (fake deployer at Slipway's Deployer interface):
// config:set --encoded / config:get --encoded, and config:export piped into config:import, with
// the refusals that write nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, newApp, startTestServer, type TestServer } from '../support/harness.ts';

interface ReleaseRow { version: number; status: string; description: string }

/** Values a shell-quoting bug, a line-based reader or a lossy encoding would break. */
const TRICKY: Record<string, string> = {
  CERT: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  QUOTES: `he said "it's" ''`,
  DOLLAR: '$HOME $(id) `id`',
  BACKSLASH: 'C:\\new\\table \\',
  EQUALS: 'a=b==',
  UNICODE: 'naïve 日本語 🚀',
  EMPTY: '',
};
const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');

describe('config as text over SSH: --encoded, config:export, config:import', () => {
  let s: TestServer;
  const ssh = (command: string, input?: string) => s.ssh(s.admin, command, input);
  const config = async (app: string) => JSON.parse((await ssh(`config ${app} --json`)).stdout) as Record<string, string>;
  const releases = async (app: string) => JSON.parse((await ssh(`releases ${app} --json`)).stdout) as ReleaseRow[];
  const deploys = (app: string) => s.deployer.rollout.deployed.filter((d) => d.app === app);
  const deployed = async (prefix: string) => (await deployedApp(s, prefix)).app;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('config:set --encoded stores and rolls out the decoded values; config:get --encoded gives the base64 back', async () => {
    const app = await deployed('enc');
    const pairs = Object.entries(TRICKY).map(([k, v]) => `${k}=${b64(v)}`).join(' ');
    const r = await ssh(`config:set --encoded ${app} ${pairs}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Setting ${Object.keys(TRICKY).join(', ')} for ${app}\\.\\.\\. done$`));
    assert.deepEqual(await config(app), TRICKY);
    assert.deepEqual(deploys(app).at(-1)!.config, TRICKY, 'the release rolled out carries the decoded values');
    assert.equal((await ssh(`config:get ${app} QUOTES`)).stdout, TRICKY.QUOTES);
    for (const [k, v] of Object.entries(TRICKY)) assert.equal((await ssh(`config:get --encoded ${app} ${k}`)).stdout, b64(v), k);
    const later = await ssh(`config:set ${app} --encoded --no-restart LATER=${b64('a\nb')}`);
    assert.equal(later.exitCode, 0, later.stderr);
    assert.equal((await config(app)).LATER, 'a\nb');
    assert.equal((await releases(app)).length, 2, '--no-restart with --encoded only stores');
  });

  test('one invalid base64 value refuses the whole command with a sentence naming its key; nothing is written', async () => {
    const app = await deployed('encbad');
    const r = await ssh(`config:set --encoded ${app} GOOD=${b64('fine')} BAD=not-base64!`);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, ' !     The value of BAD is not valid base64 (--encoded takes every value base64-encoded).');
    assert.deepEqual(await config(app), {});
    assert.equal((await releases(app)).length, 1, 'no release');
  });

  test('config:export piped into config:import gives the other app the same config, in one release', async () => {
    const from = await newApp(s, 'expfrom');
    assert.equal((await ssh(`config:set --encoded ${from} ${Object.entries(TRICKY).map(([k, v]) => `${k}=${b64(v)}`).join(' ')}`)).exitCode, 0);
    const exported = await ssh(`config:export ${from}`);
    assert.equal(exported.exitCode, 0, exported.stderr);
    assert.ok(exported.stdout.startsWith("BACKSLASH='C:\\new\\table \\'\nCERT='-----BEGIN CERTIFICATE-----\nMIIB\n"), exported.stdout);
    const to = await deployed('expto');
    const before = deploys(to).length;
    const imported = await ssh(`config:import ${to}`, exported.stdout + '\n');
    assert.equal(imported.exitCode, 0, imported.stderr);
    assert.match(imported.stdout, new RegExp(`-----> Releasing v2 \\(Set ${Object.keys(TRICKY).sort().join(', ')} config vars\\)\\n[^]*Setting .* for ${to}\\.\\.\\. done$`));
    assert.deepEqual(await config(to), TRICKY);
    assert.equal(deploys(to).length, before + 1, 'one rollout for every var');
    assert.deepEqual(deploys(to).at(-1)!.config, TRICKY);
    assert.deepEqual((await releases(to)).map((x) => x.version), [2, 1]);
    const exports = await ssh(`config:export ${from} --format exports`);
    assert.match(exports.stdout, /^export BACKSLASH='/);
    const again = await newApp(s, 'expagain');
    assert.equal((await ssh(`config:import ${again} --no-restart`, exports.stdout)).exitCode, 0);
    assert.deepEqual(await config(again), TRICKY, "Dokku's exports format reads back too");
    const bad = await ssh(`config:export ${from} --format json`);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /--format takes shell or exports\./);
  });

  test('config:import refuses a malformed line by its number, and input past the bound; nothing is written', async () => {
    const app = await deployed('impbad');
    assert.equal((await ssh(`config:set ${app} KEEP=1`)).exitCode, 0);
    const before = deploys(app).length;
    const r = await ssh(`config:import ${app}`, "A='one'\nB='two\nlines'\nC=$(id)\n");
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, ' !     Line 4 has an unquoted $ in the value of C, which a shell would act on; quote the value.');
    const empty = await ssh(`config:import ${app}`, '# nothing here\n\n');
    assert.equal(empty.exitCode, 1);
    assert.equal(empty.stderr, ' !     The input has no KEY=VALUE lines; nothing was changed.');
    const huge = await ssh(`config:import ${app}`, `A='${'x'.repeat(1024 * 1024)}'\n`);
    assert.equal(huge.exitCode, 1);
    assert.equal(huge.stderr, ' !     Standard input is too large.');
    assert.deepEqual(await config(app), { KEEP: '1' });
    assert.equal(deploys(app).length, before, 'nothing rolled out');
  });
});
