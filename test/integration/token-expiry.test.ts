// Tokens that expire (issue 41): tokens:create --ttl and the server's SLIPWAY_TOKEN_MAX_TTL, against
// a real server (fake builder and deployer) over SSH, the API and git's smart HTTP; the client CLI's
// warning a week before, from the API's Slipway-Token-Expires header.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, readEvents } from '../support/api-client.ts';
import { eventually } from '../support/eventually.ts';
import { clientUser, type ClientUser } from '../support/client-run.ts';
import { expiryWarning } from '../../client/http.ts';
import { run } from '../../server/exec.ts';

const DAY = 86_400_000;

/** The token tokens:create printed (its second line), after checking it succeeded. */
async function created(s: TestServer, key: TestKey, args: string): Promise<{ token: string; line: string }> {
  const r = await s.ssh(key, `tokens:create ${args}`);
  assert.equal(r.exitCode, 0, r.stderr);
  const [line = '', token = ''] = r.stdout.split('\n');
  return { token, line };
}

describe('tokens that expire', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let user: ClientUser;
  let app: string;

  before(async () => {
    s = await startTestServer({ SLIPWAY_TOKEN_MAX_TTL: '30d' });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    app = await newApp(s, 'expiry');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    user = await clientUser(dev);
  });
  after(async () => {
    await user.close();
    await s.close();
  });

  test('a token without --ttl gets the maximum; --ttl past it, or not a lifetime, is refused with one sentence and nothing made', async () => {
    const before = Date.now();
    const { token, line } = await created(s, dev, 'laptop');
    const expires = Date.parse(/expires (\S+)\)/.exec(line)?.[1] ?? '');
    assert.ok(expires >= before + 30 * DAY && expires <= Date.now() + 30 * DAY, line);

    const tooLong = await s.ssh(dev, 'tokens:create forever --ttl 31d');
    assert.equal(tooLong.exitCode, 1);
    assert.equal(tooLong.stderr.trim().split('\n').length, 1, tooLong.stderr);
    assert.match(tooLong.stderr, /Tokens may last at most 30d on this server \(SLIPWAY_TOKEN_MAX_TTL\); ask for --ttl 30d or less\./);
    const notALifetime = await s.ssh(dev, 'tokens:create banana --ttl soon');
    assert.equal(notALifetime.exitCode, 1);
    assert.match(notALifetime.stderr, /"soon" is not a lifetime; use a number of days, hours, minutes or seconds like 30d/);
    const listed = await s.ssh(dev, 'tokens:list --json');
    assert.deepEqual((JSON.parse(listed.stdout) as { name: string }[]).map((t) => t.name), ['laptop'], 'nothing was made for the refused ones');

    // The API says when the token expires: whoami and a header on every authenticated answer.
    const who = await api(s, 'GET', '/whoami', { token });
    assert.equal(who.status, 200);
    assert.equal((who.json as { expiresAt?: string }).expiresAt, new Date(expires).toISOString());
    assert.equal(who.headers.get('slipway-token-expires'), new Date(expires).toISOString());
    const apps = await api(s, 'GET', '/apps', { token });
    assert.equal(apps.headers.get('slipway-token-expires'), new Date(expires).toISOString());
  });

  test('tokens:list shows when each token expires, and the API lists it', async () => {
    await created(s, dev, 'ci --ttl 12h');
    const r = await s.ssh(dev, 'tokens:list');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /EXPIRES/);
    const ci = r.stdout.split('\n').find((l) => l.startsWith('ci '));
    const at = /(\d{4}-\d\d-\d\dT[0-9:.]+Z)\s*$/.exec(ci ?? '')?.[1];
    assert.ok(at && Math.abs(Date.parse(at) - (Date.now() + 12 * 3_600_000)) < 60_000, ci);
    const { token } = await created(s, dev, 'reader --ttl 1d --scope read');
    const listed = await api(s, 'GET', '/tokens', { token });
    const reader = (listed.json as { name: string; expiresAt: string | null }[]).find((t) => t.name === 'reader');
    assert.ok(reader?.expiresAt && Math.abs(Date.parse(reader.expiresAt) - (Date.now() + DAY)) < 60_000, JSON.stringify(listed.json));
  });

  test('a token past its expiry is refused at once: the API, git over HTTP, a dashboard login, and a stream it had open', async () => {
    const { token } = await created(s, dev, 'brief --ttl 3s');
    assert.equal((await api(s, 'GET', '/whoami', { token })).status, 200, 'it works until it expires');
    // A stream opened with it ends when it expires (the rights round), as a revoked token's does.
    const stream = readEvents(s, '/events', token);
    const refused = await eventually('the API refusing the token', async () => {
      const r = await api(s, 'GET', '/whoami', { token });
      return r.status === 401 ? r : undefined;
    }, 10_000, 100);
    assert.match(apiError(refused).message, /^The token brief expired at \d{4}-\d\d-\d\dT[0-9:.]+Z; make a new one \(ssh git@HOST tokens:create NAME --ttl 30d, or slipway login\)\.$/);
    const events = await stream;
    assert.equal(events.ended, true, 'the stream ended');
    assert.ok(events.events.some((e) => e.event === 'error' && e.data.includes('The access token this stream was opened with expired.')), JSON.stringify(events.events));

    const home = mkdtempSync(join(tmpdir(), 'slipway-expired-'));
    const clone = await run('git', ['clone', '-q', s.httpRemote(app, token), join(home, 'c')], { env: { HOME: home, GIT_TERMINAL_PROMPT: '0', PATH: process.env.PATH ?? '' }, extendEnv: false });
    assert.notEqual(clone.exitCode, 0);
    const login = await api(s, 'POST', '/session', { body: { token } });
    assert.equal(login.status, 401);
    assert.match(apiError(login).message, /^That token expired at .*; make a new one with tokens:create\.$/);
    const listed = await s.ssh(dev, 'tokens:list');
    assert.match(listed.stdout.split('\n').find((l) => l.startsWith('brief ')) ?? '', /\(expired\)\s*$/);
  });

  test('a token made by a token never outlives it', async () => {
    const { token } = await created(s, dev, 'parent --ttl 2d');
    const parentEnd = (await api(s, 'GET', '/whoami', { token })).headers.get('slipway-token-expires');
    const child = await api(s, 'POST', '/tokens', { token, body: { name: 'child' } });
    assert.equal(child.status, 201, child.text);
    assert.equal((child.json as { expiresAt: string }).expiresAt, parentEnd, "without --ttl: the parent's end, not the server's maximum");
    const longer = await api(s, 'POST', '/tokens', { token, body: { name: 'longer', ttl: '3d' } });
    assert.equal(longer.status, 422);
    assert.equal(apiError(longer).message, `This token expires at ${parentEnd}, and a token it makes may not last longer; ask for a shorter --ttl.`);
    const shorter = await api(s, 'POST', '/tokens', { token, body: { name: 'shorter', ttl: '1d' } });
    assert.equal(shorter.status, 201, shorter.text);
  });

  test('the client CLI warns when its token expires within a week, and not before', async () => {
    const made = await created(s, dev, 'soon --ttl 2d');
    const soon = made.token;
    const soonAt = /expires (\S+)\)/.exec(made.line)?.[1] ?? 'no expiry printed';
    const later = (await created(s, dev, 'later --ttl 20d')).token;
    const host = `http://127.0.0.1:${s.slipway.httpPort}`;
    const r = await user.cli(s.dir, ['whoami'], { env: { SLIPWAY_TOKEN: soon, SLIPWAY_HOST: host } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /Your token for .* expires in 1 day \(\d{4}-.*Z\): run slipway login .* for a new one\./);
    assert.equal((r.stderr.match(/expires in/g) ?? []).length, 1, 'once per run');
    const quiet = await user.cli(s.dir, ['whoami'], { env: { SLIPWAY_TOKEN: later, SLIPWAY_HOST: host } });
    assert.equal(quiet.exitCode, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /expires/);
    // The client's `tokens` lists each token's expiry too.
    const listed = await user.cli(s.dir, ['tokens'], { env: { SLIPWAY_TOKEN: later, SLIPWAY_HOST: host } });
    assert.equal(listed.exitCode, 0, listed.stderr);
    assert.ok(listed.stdout.includes(soonAt), listed.stdout);
  });
});

test('expiryWarning: from a week before, in days; nothing further off or without a header', () => {
  const now = Date.parse('2026-12-01T00:00:00.000Z');
  assert.equal(expiryWarning('paas', undefined, now), undefined);
  assert.equal(expiryWarning('paas', 'not a time', now), undefined);
  assert.equal(expiryWarning('paas', '2026-12-08T00:00:01.000Z', now), undefined);
  assert.equal(expiryWarning('paas', '2026-12-08T00:00:00.000Z', now), 'Your token for paas expires in 7 days (2026-12-08T00:00:00.000Z): run slipway login paas for a new one.');
  assert.match(expiryWarning('paas', '2026-12-01T05:00:00.000Z', now) ?? '', /expires within a day/);
});
