// Post-quantum key exchange (issue 8 item 9): a real OpenSSH 10 client, which prefers
// mlkem768x25519-sha256, gets that method from Slipway; the machine's own older client still
// connects over a classical exchange. The evidence is what `ssh -v` tells the user it negotiated.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunResult } from '../../server/exec.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { needTestbed } from '../support/testbed.ts';

/** The method `ssh -v` reports: "debug1: kex: algorithm: NAME". */
function negotiatedKex(verbose: string): string | undefined {
  return /^debug1: kex: algorithm: (\S+)$/m.exec(verbose)?.[1];
}

/** Options for a verbose, non-interactive client against the throwaway server. */
function verboseOptions(keyPath: string, port: number, extra: string[] = []): string[] {
  return ['-v', '-i', keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', ...extra, '-p', String(port), 'git@127.0.0.1'];
}

describe('SSH key exchange', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    const created = await s.ssh(s.admin, 'apps:create pqapp');
    assert.equal(created.exitCode, 0, created.stderr);
  });
  after(() => s.close());

  describe('with OpenSSH 10 (testbed chroot)', () => {
    let chrootDir: string | undefined;
    let root: string | undefined;
    // The client runs inside the chroot, so its key must be there too.
    const ssh10 = (args: string[], input = ''): Promise<RunResult> => run('chroot', [root!, 'ssh', ...args], { input, timeoutMs: 30_000 });
    const keyInside = () => `/${join('tmp', chrootDir!.slice(join(root!, 'tmp').length + 1), 'key')}`;
    const prepare = (t: Parameters<typeof needTestbed>[0]): boolean => {
      const env = needTestbed(t, ['SLIPWAY_TEST_OPENSSH10']);
      if (!env) return false;
      if (!root) {
        root = env.SLIPWAY_TEST_OPENSSH10!;
        chrootDir = mkdtempSync(join(root, 'tmp', 'slipway-pq-'));
        copyFileSync(s.admin.path, join(chrootDir, 'key'));
        chmodSync(join(chrootDir, 'key'), 0o600);
      }
      return true;
    };
    after(() => { if (chrootDir) rmSync(chrootDir, { recursive: true, force: true }); });

    test('negotiates mlkem768x25519-sha256 and runs apps:list', async (t) => {
      if (!prepare(t)) return;
      const version = await ssh10(['-V']);
      assert.match(version.stderr, /^OpenSSH_1\d\./, 'the testbed client is OpenSSH 10 or later');
      const r = await ssh10([...verboseOptions(keyInside(), s.slipway.sshPort), 'apps:list']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(negotiatedKex(r.stderr), 'mlkem768x25519-sha256', r.stderr);
      assert.match(r.stdout, /^NAME\s+STATE\s+RELEASE\s+READY\s+URL\npqapp\s/);
      // OpenSSH 10.1 and later print this on every connection without a post-quantum exchange.
      assert.doesNotMatch(r.stderr, /not using a post-quantum key exchange/);
    });

    test('re-keys with the hybrid method mid-session (OpenSSH RekeyLimit)', async (t) => {
      if (!prepare(t)) return;
      // 30 kB of stdin with a 1 kB rekey limit: the upload stalls until each new exchange completes,
      // and the server's answer shows it read all of it.
      const r = await ssh10([...verboseOptions(keyInside(), s.slipway.sshPort, ['-o', 'RekeyLimit=1K']), 'keys:add rekeyed'], 'x'.repeat(30_000));
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, / !\s+Send exactly one public key/);
      const exchanges = r.stderr.match(/^debug1: kex: algorithm: mlkem768x25519-sha256$/gm) ?? [];
      assert.ok(exchanges.length >= 2, `expected a re-key after the first exchange, saw ${exchanges.length} exchange(s)`);
    });

    test('falls back to curve25519-sha256 when the client does not offer the hybrid', async (t) => {
      if (!prepare(t)) return;
      const r = await ssh10([...verboseOptions(keyInside(), s.slipway.sshPort, ['-o', 'KexAlgorithms=curve25519-sha256']), 'help']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(negotiatedKex(r.stderr), 'curve25519-sha256', r.stderr);
      assert.match(r.stdout, /apps:create/);
    });
  });

  test("the machine's own OpenSSH still connects, over the best method both sides have", async () => {
    const known = (await run('ssh', ['-Q', 'kex'])).stdout.split('\n');
    // Debian 12's OpenSSH 9.2 has sntrup761 but no ML-KEM; Slipway offers no sntrup761, so that
    // client lands on curve25519. A newer machine client would get the hybrid.
    const expected = known.includes('mlkem768x25519-sha256') ? 'mlkem768x25519-sha256' : 'curve25519-sha256';
    const r = await run('ssh', [...verboseOptions(s.admin.path, s.slipway.sshPort), 'apps:list'], { input: '', timeoutMs: 30_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(negotiatedKex(r.stderr), expected, r.stderr);
    assert.match(r.stdout, /^NAME\s+STATE\s+RELEASE\s+READY\s+URL\npqapp\s/);
  });
});
