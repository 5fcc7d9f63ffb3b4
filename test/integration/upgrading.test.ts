// While Slipway is being upgraded (install.sh --upgrade writes DATA_DIR/upgrading and removes it
// once the new server answers): the real server, the real git and OpenSSH clients. A push over SSH
// and over HTTP, a change over SSH, the API and a webhook delivery are each refused with the one
// sentence and change nothing; reads over SSH and the API go on; once the flag is gone the same
// push goes through.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployedApp, remoteLines, startTestServer, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken } from '../support/api-client.ts';

const SENTENCE = 'Slipway is being upgraded; try again in a minute.';

describe('an upgrade under way (the maintenance flag)', () => {
  let s: TestServer;
  let token: string;
  let app: string;
  let wd: string;
  let flag: string;
  const head = async () => (await s.git(['--git-dir', join(s.dir, `data/repos/${app}.git`), 'rev-parse', 'main'])).stdout;

  before(async () => {
    s = await startTestServer();
    token = await makeToken(s, s.admin, 'upgrade');
    ({ app, wd } = await deployedApp(s, 'upg'));
    flag = join(s.dir, 'data', 'upgrading');
    writeFileSync(join(wd, 'index.js'), 'console.log("during the upgrade")\n');
    await s.commitAll(wd, 'during the upgrade');
  });
  after(() => s.close());

  test('pushes over SSH and HTTP are refused with the sentence, and the branch stays where it was', async () => {
    const was = await head();
    writeFileSync(flag, '');
    try {
      const bySsh = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
      assert.notEqual(bySsh.exitCode, 0);
      assert.ok(bySsh.stderr.includes(` !     ${SENTENCE}`), bySsh.stderr);
      const byHttp = await s.git(['push', s.httpRemote(app, token), 'main'], { cwd: wd });
      assert.notEqual(byHttp.exitCode, 0);
      assert.ok(remoteLines(byHttp.stderr).includes(SENTENCE), byHttp.stderr);
      assert.match(byHttp.stderr, /error: 503/);
      assert.equal(await head(), was);
      // Fetching still works: a read.
      assert.equal((await s.git(['fetch', '-q', s.httpRemote(app, token), 'main'], { cwd: wd })).exitCode, 0);
    } finally {
      rmSync(flag, { force: true });
    }
    const after = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(after.exitCode, 0, after.stderr);
    assert.notEqual(await head(), was);
  });

  test('commands that change something are refused with the sentence; reads answer', async () => {
    writeFileSync(flag, '');
    try {
      for (const command of [`config:set ${app} A=1`, 'apps:create upg-later', `ps:scale ${app} web=2`, 'tokens:create later']) {
        const r = await s.ssh(s.admin, command);
        assert.equal(r.exitCode, 1, `${command}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stderr, ` !     ${SENTENCE}`, command);
      }
      for (const command of ['apps:list', `releases ${app}`, `config ${app}`, 'version']) {
        const r = await s.ssh(s.admin, command);
        assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
      }
      // Bad usage is still bad usage: the refusal comes after the command is understood.
      assert.equal((await s.ssh(s.admin, 'config:set')).exitCode, 2);
    } finally {
      rmSync(flag, { force: true });
    }
    assert.equal((await s.ssh(s.admin, `config:get ${app} A`)).exitCode, 1, 'nothing was set');
    assert.equal((await s.ssh(s.admin, `config:set ${app} A=1`)).exitCode, 0);
  });

  test('the API refuses changes with 503, Retry-After and the sentence, and answers reads; a webhook delivery is refused too', async () => {
    writeFileSync(flag, '');
    try {
      const created = await api(s, 'POST', '/apps', { token, body: { name: 'upg-api' } });
      assert.equal(created.status, 503, created.text);
      assert.equal(created.headers.get('retry-after'), '60');
      assert.deepEqual(apiError(created), { message: SENTENCE, code: 'unavailable' });
      const config = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { B: '2' } } });
      assert.equal(config.status, 503, config.text);
      assert.equal((await api(s, 'GET', '/apps', { token })).status, 200);
      assert.equal((await api(s, 'GET', `/apps/${app}/config`, { token })).status, 200);
      const hook = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/hooks/${app}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(hook.status, 503);
      assert.deepEqual(await hook.json(), { message: SENTENCE });
    } finally {
      rmSync(flag, { force: true });
    }
    assert.equal((await api(s, 'GET', '/apps/upg-api', { token })).status, 404, 'the refused create made nothing');
    assert.equal((await api(s, 'POST', '/apps', { token, body: { name: 'upg-api' } })).status, 201);
  });
});
