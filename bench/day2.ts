// Day-2 bench on the testbed node: a real Slipway (SSH, pack with the offline builder, the
// Kubernetes deployer), the app test/fixtures/day2-app.
//   - `run APP -- true` round trip over SSH (a new pod of the release, exec, exit code back, pod
//     removed), beside what a Kubernetes user types instead: `kubectl run --rm -i --restart=Never`
//     with the same image and command through the buildpack launcher (goal ≤ 2 s);
//   - the release phase's added time to a warm push: the same code-only change pushed to the app
//     with its Procfile `release:` process and to a copy without it, interleaved; the difference
//     of the medians, and the release command's own time as its pod reports it (goal ≤ 1.5 s
//     plus the command itself).
//   eval "$(npm run -s testbed)"; node bench/day2.ts     (BENCH_ROUNDS=5)
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run } from '../server/exec.ts';
import { gitEnv } from '../test/support/harness.ts';
import { startOnTestbed } from '../test/support/on-testbed.ts';
import { fixtureCopy } from '../test/support/testbed.ts';
import { median } from './stats.ts';
import { benchEnv, requireTestbed } from './settings.ts';

// Every knob the bench reads from its environment, read once here.
const SETTINGS = Object.freeze({
  rounds: Number(benchEnv.BENCH_ROUNDS || 5),
  pack: benchEnv.SLIPWAY_PACK ?? '',
  dockerHost: benchEnv.DOCKER_HOST ?? '',
  registry: benchEnv.SLIPWAY_REGISTRY ?? '',
  builder: benchEnv.SLIPWAY_BUILDER ?? '',
  kubeconfig: benchEnv.KUBECONFIG ?? '',
  kubectl: benchEnv.SLIPWAY_KUBE_BIN_DIR ? join(benchEnv.SLIPWAY_KUBE_BIN_DIR, 'kubectl') : '',
  out: resolve(import.meta.dirname, 'results', 'day2.md'),
});
requireTestbed('day2', SETTINGS);
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const tb = { SLIPWAY_BUILDER: SETTINGS.builder, SLIPWAY_REGISTRY: SETTINGS.registry, KUBECONFIG: SETTINGS.kubeconfig, SLIPWAY_PACK: SETTINGS.pack, DOCKER_HOST: SETTINGS.dockerHost };
const { server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: 'day2.bench' }, { buildTimeoutMs: 15 * 60_000 });
const ssh = async (cmd: string) => {
  const r = await s.ssh(s.admin, cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r;
};
const timed = async <T>(fn: () => Promise<T>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

const stamp = Date.now().toString(36);
const withRelease = `bench-rel-${stamp}`;
const without = `bench-norel-${stamp}`;
const runTimes: number[] = [];
const kubectlTimes: number[] = [];
const pushWith: number[] = [];
const pushWithout: number[] = [];
const commandTimes: number[] = [];
const releaseCommandRuns: number[] = [];
try {
  const wdWith = fixtureCopy('day2-app');
  const wdWithout = fixtureCopy('day2-app');
  writeFileSync(join(wdWithout, 'Procfile'), readFileSync(join(wdWithout, 'Procfile'), 'utf8').replace(/^release:.*\n/m, ''));
  for (const [app, wd] of [[withRelease, wdWith], [without, wdWithout]] as const) {
    await ssh(`apps:create ${app}`);
    await s.commitAll(wd, 'first');
    say(`first push of ${app}`);
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    if (r.exitCode !== 0) throw new Error(`push failed: ${r.stderr}`);
  }

  const image = (JSON.parse((await ssh(`releases:info ${withRelease} v1 --json`)).stdout) as { image: string }).image;
  for (let i = 0; i < SETTINGS.rounds; i++) {
    say(`round ${i + 1}: run APP -- true, then kubectl run --rm -i`);
    runTimes.push(await timed(() => ssh(`run ${withRelease} -- true`)));
    // The release command itself, the same way: its run minus the run of `true`.
    releaseCommandRuns.push(await timed(() => ssh(`run ${withRelease} -- node release.js`)));
    kubectlTimes.push(await timed(async () => {
      const r = await run(SETTINGS.kubectl, ['--kubeconfig', SETTINGS.kubeconfig, '-n', `slipway-${withRelease}`, 'run', `bench-${stamp}-${i}`,
        '--rm', '-i', '--quiet', '--restart=Never', `--image=${image}`, '--command', '--', '/cnb/lifecycle/launcher', '--', 'true'], { input: '' });
      if (r.exitCode !== 0) throw new Error(`kubectl run failed: ${r.stderr}`);
    }));

    say(`round ${i + 1}: warm pushes with and without a release command`);
    for (const [app, wd, into] of [[withRelease, wdWith, pushWith], [without, wdWithout, pushWithout]] as const) {
      appendFileSync(join(wd, 'server.js'), `\n// round ${i}\n`);
      await s.commitAll(wd, `round ${i}`);
      let started = 0;
      let ended = 0;
      into.push(await timed(async () => {
        const r = await run('git', ['push', s.sshRemote(app), 'main'], {
          cwd: wd, env: gitEnv(join(s.dir, 'home'), s.admin),
          onLine: (line) => {
            if (line.includes('-----> Running release command')) started = performance.now();
            else if (started && !ended && /^\s*Applied v\d+:/.test(line.replace(/^remote: /, ''))) ended = performance.now();
          },
        });
        if (r.exitCode !== 0) throw new Error(`push failed: ${r.stderr}`);
      }));
      if (app === withRelease && started && ended) commandTimes.push(ended - started);
    }
  }
} finally {
  for (const app of [withRelease, without]) await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`).catch(() => undefined);
  await s.close();
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const each = (xs: number[]) => xs.map(sec).join(', ');
const added = median(pushWith) - median(pushWithout);
const command = Math.max(0, median(releaseCommandRuns) - median(runTimes));
const report = [
  '# Day-2 bench',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${SETTINGS.rounds} interleaved rounds (medians), fixture test/fixtures/day2-app, testbed node. Machine: 2 shared cores.`,
  '',
  '| measure | Slipway | baseline | ratio | goal | met? |',
  '|---|---|---|---|---|---|',
  `| \`run APP -- true\` round trip over SSH | ${sec(median(runTimes))} | ${sec(median(kubectlTimes))} (\`kubectl run --rm -i --restart=Never\`) | ${(median(runTimes) / median(kubectlTimes)).toFixed(2)}× | ≤ 2 s | ${median(runTimes) <= 2000 ? 'yes' : '**no**'} |`,
  `| warm push with a release command − without | ${sec(added)} | ${sec(median(pushWithout))} (the push without) | ${(median(pushWith) / median(pushWithout)).toFixed(2)}× | ≤ 1.5 s + the command (${sec(command)}: \`run APP -- node release.js\` − \`run APP -- true\`) | ${added <= 1500 + command ? 'yes' : '**no**'} |`,
  `| the release stage as the push shows it (\`Running release command\` → \`Applied\`: pod start, command, exit) | ${sec(median(commandTimes))} | | | | |`,
  '',
  `Each round: run ${each(runTimes)}; kubectl run ${each(kubectlTimes)}; push with ${each(pushWith)}; without ${each(pushWithout)}.`,
  '',
].join('\n');
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(SETTINGS.out, report);
process.stdout.write(report);
