// Attacks on POST /hooks/APP, replayed with node's fetch against the real server: a flood of bad
// signatures must not lock a forge out (per sender and app, a signature that verifies is never
// refused, X-Forwarded-For believed only from a trusted proxy); the same signed body under a new
// delivery id (or none) starts no second sync; and the answers do not tell which apps have a webhook.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { githubPush, githubSignature, startForge, type TestForge } from '../support/forge.ts';
import { eventually } from '../support/eventually.ts';
import { HOOK_FAILURES_PER_MINUTE } from '../../server/transport/http/server.ts';

interface Answer { status: number; text: string; json: { message: string; job?: { id: string } } }

describe('webhook abuse', { timeout: 180_000 }, () => {
  let s: TestServer;
  let proxied: TestServer;
  let forge: TestForge;

  before(async () => {
    s = await startTestServer();
    // The same server behind a reverse proxy on loopback: its X-Forwarded-For names the sender.
    proxied = await startTestServer({ SLIPWAY_TRUSTED_PROXIES: '127.0.0.1' });
    forge = await startForge(join(s.dir, 'forge'));
  });
  after(async () => {
    await forge.close();
    await proxied.close();
    await s.close();
  });

  async function deliver(server: TestServer, app: string, body: string, headers: Record<string, string>): Promise<Answer> {
    const res = await fetch(`http://127.0.0.1:${server.slipway.httpPort}/hooks/${app}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) as Answer['json'] };
  }

  function github(secret: string, body: string, id: string | undefined = randomUUID()): Record<string, string> {
    return { 'x-github-event': 'push', ...(id === undefined ? {} : { 'x-github-delivery': id }), 'x-hub-signature-256': githubSignature(secret, body) };
  }

  /** A new app of `server` following a new forge repository with one commit; its webhook secret. */
  async function connected(server: TestServer, prefix: string): Promise<{ app: string; commit: string; secret: string }> {
    const app = await newApp(server, prefix);
    const repo = `${app}-src`;
    await forge.create(repo);
    const commit = await forge.commit(repo, { 'index.js': 'console.log(1)\n' });
    assert.equal((await server.ssh(server.admin, `sync:set ${app} ${forge.url(repo)} main`)).exitCode, 0);
    const hook = await server.ssh(server.admin, `sync:webhook ${app} --json`);
    assert.equal(hook.exitCode, 0, hook.stderr);
    return { app, commit, secret: (JSON.parse(hook.stdout) as { secret: string }).secret };
  }

  const syncJobs = (server: TestServer, app: string) => server.slipway.services.store.jobs.list(app, 100).filter((j) => j.kind === 'sync');

  async function jobEnd(server: TestServer, id: string) {
    return eventually(`job ${id} to end`, async () => {
      const j = server.slipway.services.store.jobs.get(id);
      return j && j.status !== 'running' && j.status !== 'queued' ? j : undefined;
    }, 30_000, 50);
  }


  test('bad signatures from one address (a spoofed X-Forwarded-For changes nothing) do not stop signed deliveries to that app or another', async () => {
    const victim = await connected(s, 'locked');
    const other = await connected(s, 'other');
    const body = githubPush('main', victim.commit);
    const statuses: number[] = [];
    for (let i = 0; i < HOOK_FAILURES_PER_MINUTE + 5; i++) {
      // Each with another forwarded address: from a peer nobody listed as a proxy, it is not believed.
      statuses.push((await deliver(s, victim.app, body, { ...github('wrong', body), 'x-forwarded-for': `198.51.100.${i + 1}` })).status);
    }
    assert.ok(statuses.slice(0, HOOK_FAILURES_PER_MINUTE).every((st) => st !== 429 && st !== 202), statuses.join(' '));
    assert.deepEqual(statuses.slice(HOOK_FAILURES_PER_MINUTE), Array(5).fill(429), 'the failures are still counted for this sender and app');

    const forOther = await deliver(s, other.app, githubPush('main', other.commit), github(other.secret, githubPush('main', other.commit)));
    assert.equal(forOther.status, 202, forOther.json.message);
    assert.equal((await jobEnd(s, forOther.json.job!.id)).status, 'succeeded');

    const forVictim = await deliver(s, victim.app, body, github(victim.secret, body));
    assert.equal(forVictim.status, 202, `a signature that verifies is never refused: ${forVictim.json.message}`);
    assert.equal((await jobEnd(s, forVictim.json.job!.id)).status, 'succeeded');
    assert.deepEqual(s.deployer.rollout.deployed.filter((r) => r.app === victim.app).map((r) => r.commit), [victim.commit]);
  });

  test('behind a trusted proxy, failures count per forwarded sender: one sender throttled, another not, signed deliveries accepted', async () => {
    const { app, commit, secret } = await connected(proxied, 'proxied');
    const body = githubPush('main', commit);
    const from = (client: string) => ({ 'x-forwarded-for': `203.0.113.250, ${client}` });
    let status = 0;
    for (let i = 0; i < HOOK_FAILURES_PER_MINUTE + 2 && status !== 429; i++) status = (await deliver(proxied, app, body, { ...github('wrong', body), ...from('192.0.2.7') })).status;
    assert.equal(status, 429);
    // The left-hand entry is the client's own word; only the one the proxy appended counts.
    assert.notEqual((await deliver(proxied, app, body, { ...github('wrong', body), ...from('192.0.2.8') })).status, 429, 'another sender behind the same proxy is not throttled');
    const good = await deliver(proxied, app, body, { ...github(secret, body), ...from('192.0.2.7') });
    assert.equal(good.status, 202, good.json.message);
    assert.equal((await jobEnd(proxied, good.json.job!.id)).status, 'succeeded');
  });

  test('the same signed body under a new delivery id, or with none, starts no second sync; nor a signed push older than deliveries are kept', async () => {
    const { app, commit, secret } = await connected(s, 'replay');
    const body = githubPush('main', commit);
    const first = await deliver(s, app, body, github(secret, body));
    assert.equal(first.status, 202, first.json.message);
    assert.equal((await jobEnd(s, first.json.job!.id)).status, 'succeeded');
    const newId = await deliver(s, app, body, github(secret, body, randomUUID()));
    assert.equal(newId.status, 409, newId.json.message);
    assert.match(newId.json.message, /received already/);
    const noId = await deliver(s, app, body, github(secret, body, undefined));
    assert.equal(noId.status, 409, noId.json.message);
    // GitHub signs the push's time (repository.pushed_at): one older than the 7 days ids are kept is refused.
    const old = JSON.stringify({ ref: 'refs/heads/main', after: commit, repository: { full_name: 'owner/repo', pushed_at: Math.floor(Date.now() / 1000) - 8 * 86_400 } });
    const stale = await deliver(s, app, old, github(secret, old));
    assert.equal(stale.status, 409, stale.json.message);
    assert.match(stale.json.message, /older than 7 days/);
    assert.equal(syncJobs(s, app).length, 1);
  });

  test('a bad signature to an app with a webhook, and a delivery to one without, one not connected and one that does not exist, get one answer', async () => {
    const { app, commit } = await connected(s, 'hashook');
    const noSecret = await newApp(s, 'nohook');
    assert.equal((await s.ssh(s.admin, `sync:set ${noSecret} ${forge.url('whatever')}`)).exitCode, 0);
    const plain = await newApp(s, 'plain');
    const body = githubPush('main', commit);
    const answers: { app: string; status: number; text: string }[] = [];
    for (const a of [app, noSecret, plain, 'no-such-app', 'Not_An_App']) {
      const r = await deliver(s, a, body, github('guess', body, 'same-id'));
      answers.push({ app: a, status: r.status, text: r.text });
    }
    for (const a of answers.slice(1)) assert.deepEqual({ status: a.status, text: a.text }, { status: answers[0]!.status, text: answers[0]!.text }, a.app);
    assert.equal(answers[0]!.status, 404);
  });
});
