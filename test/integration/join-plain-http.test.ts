// nodes:join-command's line when the server's address is plain http, run as printed by the real
// curl and sha256sum, under bash and under dash, against the real HTTP server on loopback. Between
// them sits a small proxy of the test's own (the dashboard's address points at it), standing for
// whoever is on the network's path: it passes install.sh through, or changes it. The line must run
// (here: a `sudo` on PATH that records what it was asked to run) the script the server serves,
// and refuse any other bytes without running anything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';

const INSTALL_SH = readFileSync(join(import.meta.dirname, '..', '..', 'install.sh'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What the proxy does to install.sh on its way: nothing, a line added at the end, or one byte changed (same length). */
type Mode = 'pass' | 'append' | 'flip';

describe('nodes:join-command over plain http: the download is checked before it runs', { timeout: 120_000 }, () => {
  let s: TestServer;
  let proxy: Server;
  let proxyPort = 0;
  let mode: Mode = 'pass';
  let served: Buffer[] = [];
  let dir = '';
  const token = `K10${'0a'.repeat(32)}::server:${'f3'.repeat(16)}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-join-http-'));
    // The path's man in the middle: every request goes on to the real server; install.sh comes back as `mode` says.
    proxy = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`http://127.0.0.1:${s.slipway.httpPort}${req.url ?? '/'}`);
        let body = Buffer.from(await upstream.arrayBuffer());
        if (mode === 'append') body = Buffer.concat([body, Buffer.from('\necho owned > /etc/motd\n')]);
        if (mode === 'flip') {
          body = Buffer.from(body);
          const at = body.indexOf('set -euo pipefail');
          body[at] = 'S'.charCodeAt(0);
        }
        served.push(body);
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain', 'content-length': String(body.length) });
        res.end(body);
      })().catch((err: unknown) => { res.destroy(err as Error); });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyPort = (proxy.address() as AddressInfo).port;
    const tokenFile = join(dir, 'node-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    s = await startTestServer({ SLIPWAY_K3S_TOKEN_FILE: tokenFile, SLIPWAY_DASHBOARD_URL: `http://127.0.0.1:${proxyPort}` });
  });
  after(async () => {
    await s?.close();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Runs the printed line with `shell -c`, a `sudo` on PATH that records its arguments and the
   * script it was handed (the file named, or its standard input), and mktemp's files kept in a
   * directory of the run's own.
   */
  async function runLine(line: string, shell: string, name: string) {
    const home = join(dir, name);
    const bin = join(home, 'bin');
    const tmp = join(home, 'tmp');
    mkdirSync(bin, { recursive: true });
    mkdirSync(tmp);
    const log = join(home, 'sudo');
    writeFileSync(join(bin, 'sudo'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${log}.args"\nif [ -f "$2" ]; then cat "$2"; else cat; fi > "${log}.script"\n`);
    chmodSync(join(bin, 'sudo'), 0o755);
    served = [];
    const r = await run(shell, ['-c', line], { env: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, TMPDIR: tmp, HOME: home }, extendEnv: false, timeoutMs: 30_000 });
    const ran = existsSync(`${log}.args`);
    return {
      ...r,
      ran,
      args: ran ? readFileSync(`${log}.args`, 'utf8').trimEnd().split('\n') : [],
      script: ran ? readFileSync(`${log}.script`) : undefined,
      downloads: readdirSync(tmp).map((f) => join(tmp, f)),
      served: [...served],
    };
  }

  test('the line the admin gets over SSH names the checksum of the exact install.sh the HTTP port serves', async () => {
    const r = await s.ssh(s.admin, 'nodes:join-command');
    assert.equal(r.exitCode, 0, r.stderr);
    const line = r.stdout.trimEnd();
    const installer = `http://127.0.0.1:${proxyPort}/install.sh`;
    assert.equal(line, `f=$(mktemp) && curl -fsSL ${installer} -o "$f" && echo "${sha256(INSTALL_SH)}  $f" | sha256sum -c --quiet && sudo bash "$f" --join https://127.0.0.1:6443 --token ${token}`);
    // The checksum is of the bytes the server hands out, not of a copy of its own.
    const direct = Buffer.from(await (await fetch(`http://127.0.0.1:${s.slipway.httpPort}/install.sh`)).arrayBuffer());
    const json = JSON.parse((await s.ssh(s.admin, 'nodes:join-command --json')).stdout) as { installerSha256: string };
    assert.equal(json.installerSha256, sha256(direct));
  });

  for (const shell of ['bash', 'sh']) {
    test(`${shell}: the script the server serves passes the check and is run with --join and the token`, async () => {
      const line = (await s.ssh(s.admin, 'nodes:join-command')).stdout.trimEnd();
      mode = 'pass';
      const r = await runLine(line, shell, `${shell}-pass`);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.equal(r.served.length, 1, 'curl fetched install.sh through the proxy');
      assert.ok(r.ran, 'sudo ran');
      assert.deepEqual(r.args, ['bash', r.downloads[0], '--join', 'https://127.0.0.1:6443', '--token', token]);
      assert.ok(r.script!.equals(INSTALL_SH), 'sudo ran the installer the server serves');
    });

    for (const tamper of ['append', 'flip'] as const) {
      test(`${shell}: install.sh changed on the way (${tamper === 'append' ? 'a line added' : 'one byte changed'}) is refused and nothing runs`, async () => {
        const line = (await s.ssh(s.admin, 'nodes:join-command')).stdout.trimEnd();
        mode = tamper;
        try {
          const r = await runLine(line, shell, `${shell}-${tamper}`);
          assert.equal(r.served.length, 1, 'curl fetched the changed script');
          assert.notEqual(sha256(r.served[0]!), sha256(INSTALL_SH));
          assert.equal(r.ran, false, `sudo ran: ${r.args.join(' ')}`);
          assert.notEqual(r.exitCode, 0, r.stdout + r.stderr);
          // sha256sum says which file failed and why.
          assert.match(r.stdout, /: FAILED$/m);
          assert.match(r.stderr, /WARNING: 1 computed checksum did NOT match/);
        } finally {
          mode = 'pass';
        }
      });
    }
  }
});
