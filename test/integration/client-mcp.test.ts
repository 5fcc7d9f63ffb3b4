// `slipway mcp` as an assistant runs it: the MCP SDK's own client spawns the real client process
// (node client/main.ts mcp) over stdio, with SLIPWAY_TOKEN and SLIPWAY_HOST, against the real
// server (fake builder and deployer). It lists the tools a token's scope allows, calls a read,
// a deploy and a scale; a read token gets no tool that changes anything and a forced call is
// refused; a destructive tool without its confirmation is refused; the audit log names the token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { deployedApp, makeKey, type TestKey, type TestServer, startTestServer, useControls } from '../support/harness.ts';
import { makeToken, sshJson } from '../support/api-client.ts';
import { run } from '../../server/exec.ts';
import type { AuditEntry } from '../../server/shapes/audit.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'client', 'main.ts');

/** What a tool call answered: its text and whether it is an error. */
interface Called { text: string; isError: boolean }

/** An MCP session with `slipway mcp` for `token`, through the SDK's client over stdio. */
async function connect(s: TestServer, token: string, home: string, main = MAIN, extra: string[] = []): Promise<{ client: Client; call: (name: string, args?: Record<string, unknown>) => Promise<Called>; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [main, 'mcp', ...extra],
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), SLIPWAY_TOKEN: token, SLIPWAY_HOST: `http://127.0.0.1:${s.slipway.httpPort}` },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const client = new Client({ name: 'slipway-test', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    stderr: () => err,
    call: async (name, args = {}) => {
      const r = await client.callTool({ name, arguments: args });
      const text = (r.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
      return { text, isError: r.isError === true };
    },
  };
}

describe('slipway mcp', { timeout: 180_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let app: string;
  let home: string;
  let deploy: Awaited<ReturnType<typeof connect>>;
  let reader: Awaited<ReturnType<typeof connect>>;

  /** The app's audit entries, newest first, as an admin reads them (without the entries of those reads). */
  const audit = async (): Promise<AuditEntry[]> => (await sshJson(s, s.admin, `audit ${app}`) as AuditEntry[]).filter((e) => e.action !== 'audit');

  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, 'keys:add dev', dev.pub)).exitCode, 0);
    ({ app } = await deployedApp(s, 'mcp'));
    assert.equal((await s.ssh(s.admin, `access:grant ${app} dev`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `config:set ${app} SECRET_WORD=hunter2`)).exitCode, 0);
    home = mkdtempSync(join(tmpdir(), 'slipway-mcp-'));
    deploy = await connect(s, await makeToken(s, dev, 'mcp-deploy', 'deploy'), home);
    reader = await connect(s, await makeToken(s, dev, 'mcp-read', 'read'), home);
  });

  after(async () => {
    await deploy?.client.close();
    await reader?.client.close();
    await s?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('a deploy token lists reads and changes; destructive tools are marked and need confirm', async () => {
    const { tools } = await deploy.client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ['apps', 'apps_info', 'logs', 'releases', 'jobs', 'config', 'apps_rebuild', 'rollback', 'ps_scale', 'config_set', 'ps_stop']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    assert.ok(!names.includes('apps_destroy'), 'apps_destroy needs an admin token');
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.equal(byName.get('apps')!.annotations?.readOnlyHint, true);
    assert.equal(byName.get('ps_scale')!.annotations?.readOnlyHint, false);
    assert.equal(byName.get('ps_scale')!.annotations?.destructiveHint, false);
    const stop = byName.get('ps_stop')!;
    assert.equal(stop.annotations?.destructiveHint, true);
    assert.ok(stop.inputSchema.required?.includes('confirm'));
    // The inputs come from the OpenAPI document: the scale's body, the log's tail with its range.
    assert.deepEqual(byName.get('ps_scale')!.inputSchema.required, ['app', 'formation']);
    assert.equal((byName.get('logs')!.inputSchema.properties!.tail as { maximum?: number }).maximum, 10000);
    assert.match(deploy.stderr(), /slipway mcp: \d+ tools for dev \(deploy token\)/);
  });

  test('read tools answer: the apps, the app, its logs, its config with values for a deploy token', async () => {
    const apps = await deploy.call('apps');
    assert.equal(apps.isError, false, apps.text);
    assert.ok((JSON.parse(apps.text) as { name: string }[]).some((a) => a.name === app));
    const info = await deploy.call('apps_info', { app });
    assert.equal((JSON.parse(info.text) as { name: string }).name, app);
    const logs = await deploy.call('logs', { app, tail: 5 });
    assert.equal(logs.isError, false, logs.text);
    assert.match(logs.text, new RegExp(`${app} log \\(lines=5, follow=false\\)`));
    const config = await deploy.call('config', { app });
    assert.equal((JSON.parse(config.text) as Record<string, string>).SECRET_WORD, 'hunter2');
    const none = await deploy.call('apps_info', { app: 'no-such-app' });
    assert.equal(none.isError, true);
    assert.match(none.text, /no-such-app/);
  });

  test('ps_scale and apps_rebuild run as jobs under the token: the job ends, the audit entry names the token', async () => {
    const scaled = await deploy.call('ps_scale', { app, formation: { web: 2 } });
    assert.equal(scaled.isError, false, scaled.text);
    const job = (JSON.parse(scaled.text.slice(0, scaled.text.indexOf('\n\nTranscript:'))) as { job: { id: string; status: string; by: string; kind: string } }).job;
    assert.equal(job.status, 'succeeded');
    assert.equal(job.by, 'dev', 'the job is recorded under the token\'s key');
    assert.equal((job as { credential?: string }).credential, 'token mcp-deploy', 'and names the token that started it');
    const ps = await sshJson(s, s.admin, `ps ${app}`) as { type: string; desired: number }[];
    assert.equal(ps.find((p) => p.type === 'web')?.desired, 2);

    const rebuilt = await deploy.call('apps_rebuild', { app });
    assert.equal(rebuilt.isError, false, rebuilt.text);
    const rebuildJob = (JSON.parse(rebuilt.text.slice(0, rebuilt.text.indexOf('\n\nTranscript:'))) as { job: { id: string; status: string } }).job;
    assert.equal(rebuildJob.status, 'succeeded');

    const entries = await audit();
    const scale = entries.find((e) => e.action === 'PATCH /apps/:app/formation')!;
    assert.equal(scale.credential, 'token mcp-deploy');
    assert.equal(scale.actor, 'dev');
    assert.equal(scale.interface, 'api');
    assert.equal(scale.job, job.id);
    assert.equal(scale.outcome, 'ok');
    const rebuild = entries.find((e) => e.action === 'POST /apps/:app/rebuild')!;
    assert.equal(rebuild.credential, 'token mcp-deploy');
    assert.equal(rebuild.job, rebuildJob.id);
  });

  test('a change whose job fails is an error answer with the job\'s sentence', async (t) => {
    useControls(t, s, { deployFailure: 'the fake rollout failed' });
    const r = await deploy.call('config_set', { app, set: { BROKEN: '1' } });
    assert.equal(r.isError, true, r.text);
    assert.match(r.text, /"status": "failed"/);
    assert.match(r.text, /Job \S+ failed: .*the fake rollout failed/);
  });

  test('a destructive tool without confirm (or with another name) is refused and sends nothing', async () => {
    const before = (await audit()).length;
    const bare = await deploy.call('ps_stop', { app });
    assert.equal(bare.isError, true);
    assert.match(bare.text, /^ps_stop is destructive: give confirm with the app's name \(.+\) .*nothing was changed\.$/);
    const wrong = await deploy.call('ps_stop', { app, confirm: 'some-other-app' });
    assert.equal(wrong.isError, true);
    const unset = await deploy.call('config_unset', { app, unset: ['SECRET_WORD'] });
    assert.equal(unset.isError, true);
    assert.equal((await audit()).length, before, 'no request reached the server');
    assert.equal((await sshJson(s, s.admin, `config ${app}`) as Record<string, string>).SECRET_WORD, 'hunter2');
    const stopped = await deploy.call('ps_stop', { app, confirm: app });
    assert.equal(stopped.isError, false, stopped.text);
    const stop = (await audit()).find((e) => e.action === 'POST /apps/:app/stop')!;
    assert.equal(stop.credential, 'token mcp-deploy');
    // Its undoing is no destructive change: ps_start needs no confirm.
    const started = await deploy.call('ps_start', { app });
    assert.equal(started.isError, false, started.text);
  });

  test('a read token lists no tool that changes anything, a forced call is refused, config values are withheld', async () => {
    const { tools } = await reader.client.listTools();
    assert.ok(tools.length >= 10, `${tools.length} tools`);
    assert.deepEqual(tools.filter((t) => t.annotations?.readOnlyHint !== true).map((t) => t.name), []);
    for (const n of ['ps_scale', 'apps_rebuild', 'rollback', 'config_set', 'ps_stop']) assert.ok(!tools.some((t) => t.name === n), n);
    const before = (await audit()).length;
    const forced = await reader.call('ps_scale', { app, formation: { web: 5 } });
    assert.equal(forced.isError, true);
    assert.equal(forced.text, 'This token has the read scope; ps_scale needs deploy. Nothing was sent.');
    assert.equal((await audit()).length, before);
    const ps = await sshJson(s, s.admin, `ps ${app}`) as { type: string; desired: number }[];
    assert.notEqual(ps.find((p) => p.type === 'web')?.desired, 5);
    const config = await reader.call('config', { app });
    assert.equal(config.isError, false, config.text);
    assert.deepEqual((JSON.parse(config.text) as { names: string[] }).names, ['SECRET_WORD']);
    assert.doesNotMatch(config.text, /hunter2/);
    const releases = await reader.call('releases', { app });
    assert.equal(releases.isError, false, releases.text);
  });

  test('--scope read offers a deploy token\'s session only the reads, and withholds config values; a bad scope is one sentence', async () => {
    const token = await makeToken(s, dev, 'mcp-lowered', 'deploy');
    const lowered = await connect(s, token, home, MAIN, ['--scope', 'read']);
    try {
      const { tools } = await lowered.client.listTools();
      assert.deepEqual(tools.filter((t) => t.annotations?.readOnlyHint !== true).map((t) => t.name), []);
      const forced = await lowered.call('ps_scale', { app, formation: { web: 3 } });
      assert.equal(forced.text, 'slipway mcp was started with --scope read; ps_scale needs deploy. Nothing was sent.');
      assert.doesNotMatch((await lowered.call('config', { app })).text, /hunter2/);
      assert.match(lowered.stderr(), /\(deploy token, offered as read\)/);
    } finally {
      await lowered.client.close();
    }
    const bad = await run(process.execPath, [MAIN, 'mcp', '--scope', 'root'], { env: { PATH: process.env.PATH ?? '', HOME: home, SLIPWAY_TOKEN: token, SLIPWAY_HOST: `http://127.0.0.1:${s.slipway.httpPort}` }, extendEnv: false, input: '' });
    assert.equal(bad.exitCode, 2);
    assert.equal(bad.stderr.trim(), '!     --scope takes read, deploy or admin, not "root".');
    assert.equal(bad.stdout, '');
  });

  test('the built package (the one file and the chunk npm pack ships) serves the same tools', async () => {
    const dist = join(home, 'dist');
    const built = await run(process.execPath, [join(ROOT, 'scripts', 'build-client.ts'), dist]);
    assert.equal(built.exitCode, 0, built.stderr);
    const packed = await connect(s, await makeToken(s, dev, 'mcp-packed', 'read'), home, join(dist, 'slipway.mjs'));
    try {
      const { tools } = await packed.client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), (await reader.client.listTools()).tools.map((t) => t.name).sort());
      const apps = await packed.call('apps');
      assert.ok((JSON.parse(apps.text) as { name: string }[]).some((a) => a.name === app), apps.text);
    } finally {
      await packed.client.close();
    }
  });
});
