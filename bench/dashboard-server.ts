// The server bench/dashboard.ts measures, in a process of its own (run through bin/slipway-server
// by bench/slipway.ts): the real transports and API with the test fakes as builder and deployer,
// as test/support/server-process.ts, plus two behaviours the dashboard bench needs of the fake:
// - followed logs print a line every BENCH_DASH_LOG_MS (1000) ms, as a quiet app does, until the
//   client goes away;
// - the rollout of an app named `tick-…` holds until the process gets SIGUSR2, then writes
//   BENCH_DASH_TICKS (100) transcript lines BENCH_DASH_TICK_MS (100) ms apart, each carrying the
//   wall-clock time (ms since the epoch) at which it was written, and then finishes.
// The bench runs the listening and the timing; nothing here prints but the ready line.
import { loadConfig } from '../server/config.ts';
import type { LogRequest } from '../server/deploy/deployer.ts';
import type { DeployableRelease } from '../server/model.ts';
import type { Transcript } from '../server/output/transcript.ts';
import { startSlipway } from '../server/server.ts';
import { FakeBuilder, FakeDeployer, FakeLogs, FakeRollouts, type FakeControls } from '../test/support/fakes.ts';
import { benchEnv } from './settings.ts';

const LOG_MS = Math.max(Number(benchEnv.BENCH_DASH_LOG_MS || 1000), 50);
const TICKS = Math.min(Number(benchEnv.BENCH_DASH_TICKS || 100), 1000);
const TICK_MS = Math.max(Number(benchEnv.BENCH_DASH_TICK_MS || 100), 10);
// A held rollout gives up after this long, so a bench that died cannot leave a job running for ever.
const HOLD_LIMIT_MS = 180_000;

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** Waiters for the next SIGUSR2: each held rollout starts writing its lines on it. */
let released: Array<() => void> = [];
process.on('SIGUSR2', () => {
  const now = released;
  released = [];
  for (const go of now) go();
});

/** Fake rollouts with a timed transcript (see the top of this file). */
class BenchRollouts extends FakeRollouts {
  override async deploy(release: DeployableRelease, opts: { transcript: Transcript; signal: AbortSignal }): Promise<void> {
    if (release.app.startsWith('tick-')) {
      opts.transcript.detail('waiting for the bench');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, HOLD_LIMIT_MS);
        released.push(() => { clearTimeout(t); resolve(); });
      });
      for (let i = 1; i <= TICKS && !opts.signal.aborted; i++) {
        opts.transcript.detail(`tick ${i} ${(performance.timeOrigin + performance.now()).toFixed(3)}`);
        await sleep(TICK_MS, opts.signal);
      }
    }
    await super.deploy(release, opts);
  }
}

/** A fake live log (see the top of this file). */
class BenchLogs extends FakeLogs {
  override async logs(app: string, req: LogRequest, write: (line: string) => Promise<void>): Promise<void> {
    await write(`2000-01-01T00:00:00Z app[web.1]: ${app} started`);
    for (let n = 1; req.follow && !req.signal.aborted; n++) {
      await sleep(LOG_MS, req.signal);
      if (!req.signal.aborted) await write(`${new Date().toISOString()} app[web.1]: ${app} line ${n}`);
    }
  }
}

/** The fake deployer with BenchRollouts and BenchLogs. */
class BenchDeployer extends FakeDeployer {
  override readonly rollout = new BenchRollouts(this);
  override readonly logSource = new BenchLogs(this);
}

const controls: FakeControls = {};
const slipway = await startSlipway(loadConfig(), { builder: new FakeBuilder(controls), deployer: new BenchDeployer(controls) });
process.stdout.write(JSON.stringify({ ssh: slipway.sshPort, http: slipway.httpPort }) + '\n');
process.once('SIGTERM', () => void slipway.close().then(() => process.exit(0)));
