// Deploys from a forge against a real server (fake builder and deployer): a local bare repository
// served over smart HTTP plays the forge. Webhooks (a correct signature deploys; a wrong or missing
// one, a replayed delivery, an oversized body and an app without a secret deploy nothing), sync:run
// as a push's transcript, polling (a round driven directly, not waited for), an SSH URL with the
// app's deploy key, and the throttle on failed verifications. Reaching the forge: an HTTP redirect
// is not followed, and git connects to the addresses checked before it, not to a second lookup.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createHmac, randomUUID } from 'node:crypto';
import { makeKey, newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { githubPush, githubSignature, startForge, type TestForge } from '../support/forge.ts';
import { eventually } from '../support/eventually.ts';
import { pollSyncs } from '../../server/ops/sync/sync-poll.ts';
import { parseRemoteUrl, remoteCommit, syncDir } from '../../server/forge/remote.ts';
import { run } from '../../server/exec.ts';

/** Starts an HTTP server on loopback answering every request with `handle`; its port, the requests it saw, and a way to close it. */
async function listen(handle: (req: { url?: string }, res: import('node:http').ServerResponse) => void): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => { seen.push(req.url ?? ''); handle(req, res); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port, seen,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

interface Answer { status: number; json: { message: string; job?: { id: string; kind: string; by: string } } }

describe('deploys from a forge: webhooks, sync:run, polling', { timeout: 180_000 }, () => {
  let s: TestServer;
  let forge: TestForge;

  before(async () => {
    s = await startTestServer();
    forge = await startForge(join(s.dir, 'forge'));
  });
  after(async () => {
    await forge.close();
    await s.close();
  });

  async function deliver(app: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
    const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/hooks/${app}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
    const text = await res.text();
    return { status: res.status, json: JSON.parse(text) as Answer['json'] };
  }

  function github(secret: string, body: string, id = randomUUID()): Record<string, string> {
    return { 'x-github-event': 'push', 'x-github-delivery': id, 'x-hub-signature-256': githubSignature(secret, body) };
  }

  /** A new app following a new forge repository with one commit; its webhook secret. */
  async function connected(prefix: string): Promise<{ app: string; repo: string; commit: string; secret: string }> {
    const app = await newApp(s, prefix);
    const repo = `${app}-src`;
    await forge.create(repo);
    const commit = await forge.commit(repo, { 'index.js': 'console.log(1)\n' });
    const set = await s.ssh(s.admin, `sync:set ${app} ${forge.url(repo)} main`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, new RegExp(`${app} now follows main of ${forge.url(repo).replaceAll('.', '\\.')}`));
    const hook = await s.ssh(s.admin, `sync:webhook ${app} --json`);
    assert.equal(hook.exitCode, 0, hook.stderr);
    const w = JSON.parse(hook.stdout) as { url: string; secret: string };
    assert.equal(w.url, `http://127.0.0.1:${s.slipway.httpPort}/hooks/${app}`);
    assert.match(w.secret, /^[0-9a-f]{64}$/);
    return { app, repo, commit, secret: w.secret };
  }

  const deploysOf = (app: string) => s.deployer.rollout.deployed.filter((r) => r.app === app);

  async function jobEnd(id: string) {
    return eventually(`job ${id} to end`, async () => {
      const j = s.slipway.services.store.jobs.get(id);
      return j && j.status !== 'running' && j.status !== 'queued' ? j : undefined;
    }, 30_000, 50);
  }

  test('a signed GitHub push of the tracked branch deploys that commit as a job; the same delivery again deploys nothing', async () => {
    const { app, commit, secret } = await connected('hook');
    const body = githubPush('main', commit);
    const headers = github(secret, body);
    const r = await deliver(app, body, headers);
    assert.equal(r.status, 202, r.json.message);
    assert.equal(r.json.job?.kind, 'sync');
    assert.equal(r.json.job?.by, 'admin');
    const job = await jobEnd(r.json.job!.id);
    assert.equal(job.status, 'succeeded', job.error ?? '');
    assert.equal(job.origin, 'webhook');
    assert.deepEqual(deploysOf(app).map((d) => d.commit), [commit]);
    const info = JSON.parse((await s.ssh(s.admin, `sync ${app} --json`)).stdout) as { lastCommit: string; lastResult: string; webhook: { secret: boolean } };
    assert.equal(info.lastCommit, commit);
    assert.match(info.lastResult, /^Deployed [0-9a-f]{7} as v1 \(job [a-z0-9]{12}, webhook\)$/);
    assert.equal(info.webhook.secret, true);
    // The app's own repository now has the commit on its branch, as after a push.
    const head = await s.git(['ls-remote', s.sshRemote(app), 'refs/heads/main']);
    assert.match(head.stdout, new RegExp(`^${commit}\\t`));

    const replay = await deliver(app, body, headers);
    assert.equal(replay.status, 409);
    assert.match(replay.json.message, /received already/);
    assert.equal(deploysOf(app).length, 1);
  });

  test('wrong, missing and truncated signatures, an old secret, an oversized body and an app without a secret are refused and deploy nothing', async () => {
    const { app, commit, secret } = await connected('refuse');
    const body = githubPush('main', commit);
    const wrong = await deliver(app, body, github('not-the-secret', body));
    assert.equal(wrong.status, 404);
    assert.equal(wrong.json.message, "No webhook is set up at this address, or the delivery's signature does not match its secret.");
    assert.ok(!wrong.json.message.includes(secret));
    const { 'x-hub-signature-256': _sig, ...unsigned } = github(secret, body);
    assert.equal((await deliver(app, body, unsigned)).status, 404);
    const short = github(secret, body);
    short['x-hub-signature-256'] = short['x-hub-signature-256']!.slice(0, 40);
    assert.equal((await deliver(app, body, short)).status, 404);
    // A body changed after signing.
    assert.equal((await deliver(app, body.replace('main', 'main '), github(secret, body))).status, 404);

    const rotated = JSON.parse((await s.ssh(s.admin, `sync:webhook ${app} --rotate --json`)).stdout) as { secret: string };
    assert.notEqual(rotated.secret, secret);
    assert.equal((await deliver(app, body, github(secret, body))).status, 404, 'the old secret is refused');

    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    const tooLarge = await deliver(app, big, github(rotated.secret, big.toString()));
    assert.equal(tooLarge.status, 413);

    // Without a Content-Type the bytes are still read and verified; only POST delivers.
    const hookUrl = `http://127.0.0.1:${s.slipway.httpPort}/hooks/${app}`;
    const elsewhere = githubPush('feature', commit);
    const bare = await fetch(hookUrl, { method: 'POST', headers: github(rotated.secret, elsewhere), body: new TextEncoder().encode(elsewhere) });
    assert.equal(bare.status, 202, await bare.text());
    assert.equal((await fetch(hookUrl)).status, 405);

    const noSecret = await newApp(s, 'nosecret');
    assert.equal((await s.ssh(s.admin, `sync:set ${noSecret} ${forge.url('whatever')}`)).exitCode, 0);
    const none = await deliver(noSecret, body, github('', body));
    assert.equal(none.status, 404);
    assert.equal(none.json.message, wrong.json.message);
    assert.equal((await deliver('no-such-app', body, github('', body))).status, 404);
    assert.equal(deploysOf(app).length + deploysOf(noSecret).length, 0);
  });

  test('another branch, a ping and a tag are answered 202 with the reason, and run nothing', async () => {
    const { app, commit, secret } = await connected('other');
    const jobsBefore = s.slipway.services.store.jobs.list(app, 100).length;
    const other = githubPush('feature', commit);
    const r = await deliver(app, other, github(secret, other));
    assert.equal(r.status, 202);
    assert.equal(r.json.job, undefined);
    assert.match(r.json.message, /the push moved feature, and .* follows main/);
    const ping = JSON.stringify({ zen: 'hi' });
    const p = await deliver(app, ping, { ...github(secret, ping), 'x-github-event': 'ping' });
    assert.equal(p.status, 202);
    assert.match(p.json.message, /Nothing to do for a ping event/);
    const tag = JSON.stringify({ ref: 'refs/tags/v1', after: commit });
    const t = await deliver(app, tag, github(secret, tag));
    assert.equal(t.status, 202);
    assert.match(t.json.message, /a push to refs\/tags\/v1/);
    assert.equal(deploysOf(app).length, 0);
    assert.equal(s.slipway.services.store.jobs.list(app, 100).length, jobsBefore);
  });

  test('GitLab (X-Gitlab-Token), Gitea (X-Gitea-Signature) and Bitbucket (X-Hub-Signature) deliveries are verified their way', async () => {
    const { app, repo, commit, secret } = await connected('forges');
    const gitlab = JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', after: commit });
    assert.equal((await deliver(app, gitlab, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'wrong', 'x-gitlab-event-uuid': randomUUID() })).status, 404);
    const gl = await deliver(app, gitlab, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret, 'x-gitlab-event-uuid': randomUUID() });
    assert.equal(gl.status, 202, gl.json.message);
    assert.equal((await jobEnd(gl.json.job!.id)).status, 'succeeded');

    const next = await forge.commit(repo, { 'two.js': '2\n' });
    const gitea = JSON.stringify({ ref: 'refs/heads/main', after: next });
    const hmac = createHmac('sha256', secret).update(gitea).digest('hex');
    const gt = await deliver(app, gitea, { 'x-gitea-event': 'push', 'x-gitea-delivery': randomUUID(), 'x-gitea-signature': hmac });
    assert.equal(gt.status, 202, gt.json.message);
    assert.equal((await jobEnd(gt.json.job!.id)).status, 'succeeded');

    const third = await forge.commit(repo, { 'three.js': '3\n' });
    const bb = JSON.stringify({ push: { changes: [{ old: { type: 'branch', name: 'main' }, new: { type: 'branch', name: 'main', target: { hash: third } } }] } });
    const bh = { 'x-event-key': 'repo:push', 'x-request-uuid': randomUUID(), 'x-hub-signature': `sha256=${createHmac('sha256', secret).update(bb).digest('hex')}` };
    const b = await deliver(app, bb, bh);
    assert.equal(b.status, 202, b.json.message);
    assert.equal((await jobEnd(b.json.job!.id)).status, 'succeeded');
    assert.equal((await deliver(app, bb, bh)).status, 409, 'Bitbucket deliveries are deduplicated by X-Request-UUID');
    assert.deepEqual(deploysOf(app).map((d) => d.commit), [commit, next, third]);
  });

  test('sync:run fetches and deploys with a push\'s transcript; run again, it says the commit runs already', async () => {
    const { app, repo } = await connected('run');
    const first = await s.ssh(s.admin, `sync:run ${app}`);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stdout, /-----> Fetching main from http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(first.stdout, /-----> Deploying .* \([0-9a-f]{7}\) from main/);
    assert.match(first.stdout, /=====> Application deployed:\n       http:\/\/.*\.apps\.test/);
    const again = await s.ssh(s.admin, `sync:run ${app}`);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.match(again.stdout, /[0-9a-f]{7} is what .* runs already: nothing to deploy\./);
    assert.equal(deploysOf(app).length, 1);

    // A branch the forge does not have is the user's error, in one sentence.
    assert.equal((await s.ssh(s.admin, `sync:set ${app} ${forge.url(repo)} nope`)).exitCode, 0);
    const missing = await s.ssh(s.admin, `sync:run ${app}`);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr + missing.stdout, /Fetching nope from .* failed: couldn't find remote ref refs\/heads\/nope/);
  });

  test('polling: a round after the interval syncs a new commit; no new commit, nothing; too short an interval is refused', async () => {
    const { app, repo, commit } = await connected('poll');
    const short = await s.ssh(s.admin, `sync:poll ${app} 30s`);
    assert.equal(short.exitCode, 1);
    assert.match(short.stderr, /at least 1m/);
    assert.equal((await s.ssh(s.admin, `sync:poll ${app} 5m`)).stdout.trim(), `${app} polls its repository every 5m.`);
    const services = s.slipway.services;
    const t0 = Date.now();
    const first = (await pollSyncs(services, t0)).filter((j) => j.job.app === app);
    assert.equal(first.length, 1, 'the first round syncs the branch the app does not run yet');
    assert.equal((await first[0]!.ended).status, 'succeeded');
    assert.equal(first[0]!.job.origin, 'poll');
    assert.deepEqual(deploysOf(app).map((d) => d.commit), [commit]);
    const next = await forge.commit(repo, { 'b.js': 'b\n' });
    assert.deepEqual((await pollSyncs(services, t0 + 60_000)).filter((j) => j.job.app === app), [], 'within the interval nothing is looked at');
    const round = (await pollSyncs(services, t0 + 5 * 60_000)).filter((j) => j.job.app === app);
    assert.equal(round.length, 1);
    assert.equal((await round[0]!.ended).status, 'succeeded');
    assert.deepEqual(deploysOf(app).map((d) => d.commit), [commit, next]);
    assert.deepEqual((await pollSyncs(services, t0 + 10 * 60_000)).filter((j) => j.job.app === app), [], 'an unchanged branch starts nothing');
    assert.equal((await s.ssh(s.admin, `sync:poll ${app} off`)).exitCode, 0);
    await forge.commit(repo, { 'c.js': 'c\n' });
    assert.deepEqual((await pollSyncs(services, t0 + 60 * 60_000)).filter((j) => j.job.app === app), []);
  });

  test('an SSH URL gets an ed25519 deploy key; with it added at the "forge" (another app here), sync:run fetches over SSH', async () => {
    const upstream = await newApp(s, 'upstream');
    const wd = await s.workRepo({ 'index.js': 'console.log("up")\n' });
    assert.equal((await s.git(['push', s.sshRemote(upstream), 'main'], { cwd: wd })).exitCode, 0);
    const commit = (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
    const app = await newApp(s, 'viassh');
    const set = await s.ssh(s.admin, `sync:set ${app} ${s.sshRemote(upstream)} main --json`);
    assert.equal(set.exitCode, 0, set.stderr);
    const key = (JSON.parse(set.stdout) as { deployKey: string }).deployKey;
    assert.match(key, /^ssh-ed25519 [A-Za-z0-9+/=]+ slipway-deploy-viassh-[a-z0-9]+-\d+$/);
    assert.equal((await s.ssh(s.admin, `keys:add deploy-${app}`, key + '\n')).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${upstream} deploy-${app}`)).exitCode, 0);
    const r = await s.ssh(s.admin, `sync:run ${app}`);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    assert.deepEqual(deploysOf(app).map((d) => d.commit), [commit]);

    // ssh connects to the address checked, under a name that does not resolve at all: the host key
    // is learnt under the name (and its port), so keys already known stay known.
    const { config } = s.slipway.services;
    const pinned = await remoteCommit({ config, app, remote: parseRemoteUrl(`ssh://git@forge.invalid:${s.slipway.sshPort}/${upstream}.git`),
      pin: { host: 'forge.invalid', port: s.slipway.sshPort, addresses: ['127.0.0.1'] }, branch: 'main' });
    assert.equal(pinned, commit);
    const known = join(syncDir(config, app), 'known_hosts');
    assert.equal((await run('ssh-keygen', ['-F', `[forge.invalid]:${s.slipway.sshPort}`, '-f', known])).exitCode, 0, 'the key is known under the name and port');
    const unset = await s.ssh(s.admin, `sync:unset ${app}`);
    assert.equal(unset.stdout.trim(), `${app} no longer follows a repository.`);
    assert.match((await s.ssh(s.admin, `sync ${app}`)).stdout, /is not connected to a repository/);
  });

  test('a key without access to the app may not connect it; failed verifications from one address are answered 429 for a while, a signed delivery never', async () => {
    const dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add dev`, dev.pub)).exitCode, 0);
    const { app, repo, commit, secret } = await connected('throttle');
    const denied = await s.ssh(dev, `sync:set ${app} ${forge.url('x')}`);
    assert.equal(denied.exitCode, 1);
    assert.match(denied.stderr, /does not exist, or your key has no access to it/);
    // With access, a deployer still may not point the server at an address inside its networks
    // (the forge here is on loopback: only an admin may connect it), nor at a name that resolves there.
    assert.equal((await s.ssh(s.admin, `access:grant ${app} dev`)).exitCode, 0);
    // Nor behind an IPv6 transition prefix: NAT64, 6to4 and Teredo (client 127.0.0.1, its bits flipped) of loopback.
    for (const url of [forge.url('x'), 'https://localhost/owner/repo.git', 'ssh://git@10.43.0.1/owner/repo.git', 'git@[::1]:owner/repo.git',
      'https://[64:ff9b::7f00:1]/owner/repo.git', 'https://[2002:7f00:1::]/owner/repo.git', 'ssh://git@[2001:0:4136:e378:8000:63bf:80ff:fffe]/owner/repo.git']) {
      const inside = await s.ssh(dev, `sync:set ${app} ${url}`);
      assert.equal(inside.exitCode, 1, url);
      assert.match(inside.stderr, /Only an admin may connect an app to \S+: it is \S+, an address inside this server's networks; nothing was changed\./, url);
    }
    assert.match((await s.ssh(s.admin, `sync ${app}`)).stdout, new RegExp(forge.url(repo).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the sync is as it was');
    const body = githubPush('main', commit);
    let status = 0;
    for (let i = 0; i < 12 && status !== 429; i++) status = (await deliver(app, body, github('wrong', body))).status;
    assert.equal(status, 429);
    const good = await deliver(app, body, github(secret, body));
    assert.equal(good.status, 202, 'a delivery that verifies is never throttled');
    assert.equal((await jobEnd(good.json.job!.id)).status, 'succeeded');
    assert.deepEqual(deploysOf(app).map((d) => d.commit), [commit]);
  });

  test('a forge that answers with a redirect is not followed: the address it names sees no request and the sync fails in one sentence', async () => {
    const elsewhere = await listen((_req, res) => { res.writeHead(404); res.end(); });
    const redirector = await listen((req, res) => { res.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}${req.url ?? '/'}` }); res.end(); });
    try {
      const app = await newApp(s, 'redirect');
      // Only an admin may connect a forge on loopback; the redirect is refused for everyone.
      const url = `http://127.0.0.1:${redirector.port}/owner/repo.git`;
      assert.equal((await s.ssh(s.admin, `sync:set ${app} ${url} main`)).exitCode, 0);
      const r = await s.ssh(s.admin, `sync:run ${app}`);
      assert.equal(r.exitCode, 1);
      assert.match(r.stderr, new RegExp(`Fetching main from ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed: it answered with a redirect \\(HTTP 302\\), which Slipway does not follow; give the URL it redirects to`));
      assert.equal((await s.ssh(s.admin, `sync:poll ${app} 5m`)).exitCode, 0);
      await pollSyncs(s.slipway.services, Date.now() + 60 * 60_000);
      assert.ok(redirector.seen.length >= 2, 'the forge was asked, by sync:run and by polling');
      assert.deepEqual(elsewhere.seen, [], 'the address the redirect names was never reached');
      assert.equal(deploysOf(app).length, 0);
    } finally {
      await redirector.close();
      await elsewhere.close();
    }
  });

  test('git connects to the addresses the check resolved, not to a second lookup of the name', async () => {
    const app = await newApp(s, 'pinned');
    const repo = `${app}-src`;
    await forge.create(repo);
    const commit = await forge.commit(repo, { 'index.js': 'console.log(1)\n' });
    const port = Number(new URL(forge.url(repo)).port);
    // forge.invalid resolves nowhere (RFC 6761): only the pinned address can take git there.
    const remote = parseRemoteUrl(`http://forge.invalid:${port}/${repo}.git`);
    const got = await remoteCommit({ config: s.slipway.services.config, app, remote, pin: { host: 'forge.invalid', port, addresses: ['127.0.0.1'] }, branch: 'main' });
    assert.equal(got, commit);
  });
});
