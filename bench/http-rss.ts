// Memory bench: the server's RSS after N HTTP git requests (clones of a small repo with a token,
// over loopback), sampled as it goes, to check that steady-state RSS levels off low.
//   node bench/http-rss.ts        (BENCH_HTTP_CLONES=1100, BENCH_HTTP_CONCURRENCY=4 by default)
// Each clone is three HTTP requests: git's unauthenticated probe (401), info/refs, upload-pack.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../server/exec.ts';
import { isolatedGitEnv } from './fixtures.ts';
import { benchEnv } from './settings.ts';
import { must, rssMiB, startSlipway } from './slipway.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench', 'results', 'http-rss.md');
const CLONES = Math.min(Number(benchEnv.BENCH_HTTP_CLONES || 1100), 20_000);
const CONCURRENCY = Math.min(Number(benchEnv.BENCH_HTTP_CONCURRENCY || 4), 32);
// Bounded in time as well as in count: a stuck server must not hold the bench forever.
const DEADLINE_MS = Number(benchEnv.BENCH_HTTP_DEADLINE_S || 600) * 1000;
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);


const tmp = mkdtempSync(join(tmpdir(), 'slipway-rss-'));
const env = isolatedGitEnv(join(tmp, 'home'));
mkdirSync(join(tmp, 'home'));
await must('ssh-keygen', run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'key')]));
const slipway = await startSlipway({ root: ROOT, dataDir: join(tmp, 'data'), adminKeys: join(tmp, 'key.pub') });
try {
  const ssh = (cmd: string) => must(cmd, run('ssh', ['-i', join(tmp, 'key'), '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-p', String(slipway.ssh), 'git@127.0.0.1', cmd]));
  await ssh('apps:create rss');
  const token = (await ssh('tokens:create rss')).stdout.split('\n')[1]!.trim();
  const remote = `http://x:${token}@127.0.0.1:${slipway.http}/rss.git`;
  const wd = join(tmp, 'work');
  mkdirSync(wd);
  await must('git init', run('git', ['init', '-q', '-b', 'main'], { cwd: wd, env }));
  for (let i = 0; i < 50; i++) writeFileSync(join(wd, `f${i}.txt`), `file ${i}\n`.repeat(200));
  await must('git add', run('git', ['add', '-A'], { cwd: wd, env }));
  await must('git commit', run('git', ['commit', '-q', '-m', 'small'], { cwd: wd, env }));
  await must('git push', run('git', ['push', '-q', remote, 'main'], { cwd: wd, env }));

  const samples: string[] = [];
  const sample = (done: number) => {
    const m = rssMiB(slipway.pid);
    samples.push(`${done * 3} requests: RSS ${m.rss.toFixed(1)} MiB (peak ${m.hwm.toFixed(1)})`);
    say(samples.at(-1)!);
  };
  sample(0);
  const started = Date.now();
  let next = 0;
  let done = 0;
  const every = Math.max(1, Math.round(CLONES / 10));
  const worker = async (w: number) => {
    while (next < CLONES && Date.now() - started < DEADLINE_MS) {
      const i = next++;
      const dest = join(tmp, `clone-${w}`);
      rmSync(dest, { recursive: true, force: true });
      await must(`clone ${i}`, run('git', ['clone', '-q', remote, dest], { env, timeoutMs: 60_000 }));
      if (++done % every === 0) sample(done);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  await new Promise((r) => setTimeout(r, 2000));
  const end = rssMiB(slipway.pid);
  const report = [
    '# Server memory under HTTP git load',
    '',
    `${new Date().toISOString().slice(0, 10)}, \`node bench/http-rss.ts\`: ${done} clones of a small repo over HTTP with a token (${done * 3} requests), ${CONCURRENCY} at a time, ${((Date.now() - started) / 1000).toFixed(0)} s, loopback; the server as \`npm start\` runs it (bin/slipway-server). Machine: 2 shared cores.`,
    '',
    '| measure | result | goal | met? |',
    '|---|---|---|---|',
    `| server RSS at the end / peak (VmHWM) | ${end.rss.toFixed(1)} / ${end.hwm.toFixed(1)} MiB | ≤ 150 MB (143 MiB) | ${end.hwm <= 143 ? 'yes' : '**no**'} |`,
    '',
    'RSS as the run went:',
    '',
    ...samples.map((s) => `- ${s}`),
    '',
  ].join('\n');
  writeFileSync(OUT, report);
  process.stdout.write(report);
} finally {
  await slipway.stop();
  rmSync(tmp, { recursive: true, force: true });
}
