// Client CLI bench (issue 41):
//   (a) cold start to the first byte of `slipway apps` on stdout: the built client
//       (client/dist/slipway.mjs, what the package installs) and the TypeScript sources (`npm run
//       cli` in a checkout, without npm's own start-up), each a new process; `node -e ''` beside
//       them for what Node alone costs: goal ≤ 300 ms;
//   (b) `slipway config:set K=V` in the app's repository (the app found from its git remote, the job
//       followed to its end) vs `ssh … config:set APP K=V` (the real OpenSSH client, a new
//       connection each time): goal within 10 %.
// The server runs in this process with the fake builder and deployer (test/support/harness.ts), so
// what is measured is the client and its transport, not a rollout.
//   bin/slipway-server bench/cli.ts     (BENCH_CLI_ROUNDS=15; the server in this process, launched as npm start launches it)
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { run } from '../server/exec.ts';
import { deployedApp, sshOptions, startTestServer } from '../test/support/harness.ts';
import { makeToken } from '../test/support/api-client.ts';
import { benchEnv } from './settings.ts';
import { markdownTable, median, ratioRow, spread, type Row } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Math.min(Number(benchEnv.BENCH_CLI_ROUNDS || 15), 100);
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const ms = (x: number) => `${x.toFixed(0)} ms`;

/** Runs a program; resolves with the time to its first stdout byte and to its exit (ms), failing on a non-zero exit. */
function timed(cmd: string, args: readonly string[], env: Record<string, string>, cwd = ROOT): Promise<{ first: number; total: number }> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    let first = Number.NaN;
    let err = '';
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', () => { if (Number.isNaN(first)) first = performance.now() - t0; });
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done({ first, total: performance.now() - t0 }) : fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

await run(process.execPath, [join(ROOT, 'scripts', 'build-client.ts')]);
const s = await startTestServer();
try {
  const { app, wd } = await deployedApp(s, 'bench');
  await s.git(['remote', 'add', 'paas', s.sshRemote(app)], { cwd: wd });
  const token = await makeToken(s, s.admin, 'bench');
  const env = { PATH: benchEnv.PATH ?? '', HOME: s.dir, SLIPWAY_TOKEN: token, SLIPWAY_HOST: `http://127.0.0.1:${s.slipway.httpPort}`, GIT_CONFIG_NOSYSTEM: '1' };
  const built = join(ROOT, 'client', 'dist', 'slipway.mjs');
  const sources = join(ROOT, 'client', 'main.ts');

  say(`(a) cold start, ${ROUNDS} rounds each`);
  const node: number[] = [];
  const builtFirst: number[] = [];
  const srcFirst: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    node.push((await timed(process.execPath, ['-e', ''], env)).total);
    builtFirst.push((await timed(process.execPath, [built, 'apps'], env)).first);
    srcFirst.push((await timed(process.execPath, [sources, 'apps'], env)).first);
  }

  say(`(b) config:set, ${ROUNDS} rounds each`);
  const cli: number[] = [];
  const ssh: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    cli.push((await timed(process.execPath, [built, 'config:set', `K${i}=cli`], env, wd)).total);
    ssh.push((await timed('ssh', [...sshOptions(s.admin), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', `config:set ${app} S${i}=ssh`], env)).total);
  }

  const rows: Row[] = [
    { measure: '`slipway apps`: start to first byte, built client', slipway: ms(median(builtFirst)), baseline: `${ms(median(node))} (\`node -e ''\`)`, ratio: '', goal: '≤ 300 ms', met: median(builtFirst) <= 300 ? 'yes' : '**no**' },
    { measure: '`slipway apps`: start to first byte, TypeScript sources', slipway: ms(median(srcFirst)), baseline: `${ms(median(node))} (\`node -e ''\`)`, ratio: '', goal: '≤ 300 ms', met: median(srcFirst) <= 300 ? 'yes' : '**no**' },
    { measure: "`slipway apps`: the built client's own share (its first byte − `node -e ''`, paired by round)", slipway: ms(median(builtFirst.map((b, i) => b - node[i]!))), baseline: '', ratio: '', goal: '', met: '' },
    ratioRow('`config:set K=V`, job followed to its end', median(cli), median(ssh), '`ssh … config:set APP K=V`', 1.1, ms),
  ];
  const md = `# Client CLI (issue 41)

\`bin/slipway-server bench/cli.ts\`, ${new Date().toISOString().slice(0, 10)}, ${ROUNDS} rounds each, ${cpus().length} cores shared with other work; the
server in the bench's process with the fake builder and deployer. Medians. The rounds interleave
the measures, so a busy machine slows each alike; load average when it ended: ${loadavg()[0]!.toFixed(1)}.

${markdownTable(rows)}

What it means: \`node -e ''\` is what any Node program pays before its first line; the client's own
share is the rest (loading its one file, one request). \`config:set\` through the client pays that
start, one \`git config\` call to find the app from the remote and two requests (the change, then its
job's events, on one kept-alive connection); \`ssh\` starts in a few milliseconds but pays a key
exchange (ML-KEM) and a signature on every connection. On a quiet machine the client is the faster
of the two; Node's start grows with the machine's load more than ssh's does (docs/cli.md, "Speed").

Details (min / median / max):
- \`node -e ''\`: ${spread(node)}
- built client, first byte of \`apps\`: ${spread(builtFirst)}
- sources, first byte of \`apps\`: ${spread(srcFirst)}
- \`slipway config:set\` (built client, app from the git remote): ${spread(cli)}
- \`ssh … config:set\`: ${spread(ssh)}
`;
  writeFileSync(join(ROOT, 'bench', 'results', 'cli.md'), md);
  process.stdout.write(md);
} finally {
  await s.close();
}
