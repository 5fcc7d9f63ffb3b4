// Cutover bench (issue 20) on the testbed node: a real Slipway (SSH, pack with the offline builder,
// the Kubernetes deployer), test/fixtures/node-app, reached through the ingress (Traefik) by Host
// header. For each change it measures, from the command's start, when 100 % of the requests reach
// the target release: the send time of the first answer of the final run of target answers, a run
// that goes on for at least BENCH_CUTOVER_AFTER requests and 1 s after the command returned
// (requests one at a time, 20 ms apart, so their order is the ingress's). Also: when the command
// returned, how long both releases answered (first target answer → 100 %), failed requests, and
// old answers after the first new one. Side by side in one run, per round, on two new apps:
//   - app W (warm window as configured, SLIPWAY_WARM_ROLLBACK default): a warm push (code change),
//     config:set, rollback to the warm previous release, then `ps:warm APP 0` and at once a
//     rollback to the release it dropped, then, once the instances it no longer keeps are gone, a
//     rollback past the window (cold);
//   - app O (`ps:warm APP 0` from its first release on: nothing kept warm, the comparison): the
//     same push, config:set and a rollback, which is cold.
// Where the time goes: when each command's output said `Applied vN` and `Switched the traffic`,
// beside an SSH command that does nearly nothing; and on the nodes, from a pod watch (`kubectl get
// pods -w`, stamped as its lines arrive): which node each new instance ran on, its image pull (its
// Pulled event), when it was created, reported running by its kubelet, and Ready. On a build
// without ps:warm (before issue 20) it runs too, measuring the rolling update that build has.
// Bounded: every probe stops by itself after 10 min, every wait after 60 s.
//   eval "$(npm run -s testbed)"; node bench/cutover.ts     (BENCH_ROUNDS=3, BENCH_CUTOVER_AFTER=20)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../server/kube/client.ts';
import type { CoreV1Event, V1Pod } from '../server/kube/types.ts';
import { LABEL } from '../server/kube/labels.ts';
import { run } from '../server/exec.ts';
import { gitEnv, sshOptions } from '../test/support/harness.ts';
import { startOnTestbed } from '../test/support/on-testbed.ts';
import { cutoverOf, probeDuring, waitForBody } from '../test/support/ingress.ts';
import { fixtureCopy } from '../test/support/testbed.ts';
import { median } from './stats.ts';
import { benchEnv, pushTestbed, requireTestbed } from './settings.ts';

// Every knob the bench reads from its environment, read once here.
const SETTINGS = Object.freeze({
  rounds: Number(benchEnv.BENCH_ROUNDS || 3),
  after: Number(benchEnv.BENCH_CUTOVER_AFTER || 20),
  ...pushTestbed,
  warmWindow: benchEnv.SLIPWAY_WARM_ROLLBACK ?? '',
  // The server confirms a switch with Traefik's API when it is set (startOnTestbed passes the testbed's), else with the EndpointSlices only.
  ingressApi: benchEnv.SLIPWAY_INGRESS_API ?? '',
  out: resolve(benchEnv.BENCH_CUTOVER_OUT || resolve(import.meta.dirname, 'results', 'cutover.md')),
  kubectl: benchEnv.SLIPWAY_KUBE_BIN_DIR ? join(benchEnv.SLIPWAY_KUBE_BIN_DIR, 'kubectl') : '',
});
requireTestbed('cutover', { ...SETTINGS, warmWindow: 'not required', ingressApi: 'not required' });
const BASE = 'cutover.bench';
const GAP_MS = 20;
/** How long the answers must stay on the target after the command returned. */
const TAIL_MS = 1000;
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Lines of a command's output (SSH command or push) that mark where its time goes, first match each. */
const PHASES = {
  output: /./,
  applied: /^ *Applied v\d+/,
  switched: /^ *Switched the traffic/,
  /** Traefik's API could not say (down, no such service): the EndpointSlices alone confirmed the switch. */
  slicesOnly: /the switch is confirmed by the EndpointSlices only/,
} as const;
type Phase = keyof typeof PHASES;

/** A change's new instances on the nodes, from the pod watch; times from the command's start (ms). */
interface OnNodes {
  /** The node each new instance ran on. */
  nodes: string[];
  /** Each new instance's image pull (its Pulled event): ms, 0 when the node had the image already. */
  pullMs: number[];
  /** The first new instance created; the last one reported running by its kubelet; the last one Ready. */
  created?: number;
  running?: number;
  ready?: number;
}

/** One change, measured from the command's start (ms). */
interface Measure {
  /** The command returned (git push: exited). */
  done: number;
  /** git push only: the `-----> Released` line arrived. */
  released?: number;
  /** When the command's output said what (see PHASES), for where the time goes. */
  phases: Partial<Record<Phase, number>>;
  /** 100 % of the requests on the target from here on; Infinity: never within the bounds. */
  all: number;
  /** First target answer → 100 %. */
  mixed: number;
  failed: number;
  oldAfterNew: number;
  /** Answers from the release before to requests sent after the command returned (Released, for a push). */
  oldAfterDone: number;
  requests: number;
  onNodes: OnNodes;
}

const tb = { SLIPWAY_BUILDER: SETTINGS.builder, SLIPWAY_REGISTRY: SETTINGS.registry, KUBECONFIG: SETTINGS.kubeconfig, SLIPWAY_PACK: SETTINGS.pack, DOCKER_HOST: SETTINGS.dockerHost };
const { server: s, builder } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE, ...(SETTINGS.warmWindow ? { SLIPWAY_WARM_ROLLBACK: SETTINGS.warmWindow } : {}) }, { buildTimeoutMs: 15 * 60_000 });
const ssh = async (cmd: string) => {
  const r = await s.ssh(s.admin, cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}: ${r.stderr}`);
  return r;
};
/** False when this build has no `ps:warm` (before issue 20): the bench then measures the rolling update it has instead. */
let hasPsWarm = true;
/** `ps:warm APP 0`: nothing of `app` kept warm from now on. */
async function warmOff(app: string): Promise<void> {
  const r = await s.ssh(s.admin, `ps:warm ${app} 0`);
  if (r.exitCode === 2 && r.stderr.includes('Unknown command "ps:warm"')) hasPsWarm = false;
  else if (r.exitCode !== 0) throw new Error(`ps:warm ${app} 0: exit ${r.exitCode}: ${r.stderr}`);
}
const host = (app: string) => `${app}.${BASE}`;
const hello = (tag: string, greeting?: string) => `hello from slipway ${tag}${greeting ? ` ${greeting}` : ''}\n`;

/** Makes the fixture answer `hello from slipway TAG` (GREETING unset): a code change. */
function setTag(wd: string, tag: string): void {
  const file = join(wd, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/`hello from slipway[^$`]*\$\{greeting\}/, `\`hello from slipway ${tag}\${greeting}`));
}

/** Where a command reports the lines it prints as they arrive. */
type Mark = (line: string) => void;

/** Pushes `wd` to `app` over SSH, handing each `remote:` line to `mark`. */
async function push(app: string, wd: string, mark: Mark = () => undefined): Promise<void> {
  const r = await run('git', ['push', s.sshRemote(app), 'main'], {
    cwd: wd,
    env: gitEnv(join(s.dir, 'home'), s.admin),
    onLine: (line) => {
      if (line.startsWith('remote: ')) mark(line.slice(8));
    },
  });
  if (r.exitCode !== 0) throw new Error(`push to ${app} failed: ${r.stderr}`);
}

/** `ssh git@server COMMAND` as a user types it, handing each line it prints to `mark`. */
async function sshCommand(command: string, mark: Mark): Promise<void> {
  const r = await run('ssh', [...sshOptions(s.admin), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', command], { input: '', onLine: (line) => mark(line) });
  if (r.exitCode !== 0) throw new Error(`${command}: exit ${r.exitCode}: ${r.stderr}`);
}

const kube = new KubeClient(SETTINGS.kubeconfig);

/** A pod as the watch saw it change, at the bench's clock (performance.now()). */
interface PodSeen { first: number; node?: string; running?: number; ready?: number }

/**
 * Watches `app`'s pods (`kubectl get pods -w`) until stopped, stamping each change as it arrives.
 * `listed` resolves once it printed the pods there are (the app always has one: what it serves).
 */
function watchPods(app: string): { pods: Map<string, PodSeen>; listed: Promise<void>; stop: () => Promise<void> } {
  const pods = new Map<string, PodSeen>();
  const stop = new AbortController();
  let firstLine = () => {};
  const listed = new Promise<void>((resolve) => (firstLine = resolve));
  const columns = 'custom-columns=N:.metadata.name,NODE:.spec.nodeName,RUN:.status.containerStatuses[0].state.running.startedAt,READY:.status.conditions[?(@.type=="Ready")].status';
  const done = run(SETTINGS.kubectl, ['--kubeconfig', SETTINGS.kubeconfig, '-n', `slipway-${app}`, 'get', 'pods', '-w', '--no-headers', '-o', columns], {
    signal: stop.signal,
    onLine: (line, stream) => {
      if (stream !== 'stdout') return;
      const at = performance.now();
      firstLine();
      const [name, node, running, ready] = line.trim().split(/\s+/);
      if (!name) return;
      const p = pods.get(name) ?? pods.set(name, { first: at }).get(name)!;
      if (node && node !== '<none>') p.node ??= node;
      if (running && running !== '<none>') p.running ??= at;
      if (ready === 'True') p.ready ??= at;
    },
  });
  return { pods, listed, stop: async () => { stop.abort(); await done; } };
}

/** Milliseconds of a Pulled event's pull ("… in 33ms (33ms including waiting)"), 0 for "already present", undefined otherwise. */
function pullOf(message: string): number | undefined {
  if (/already present/.test(message)) return 0;
  const m = /in ([\d.]+)(ms|s) \(/.exec(message);
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : undefined;
}

/** The new instances' nodes, pulls and times: the pods the watch saw that were not there before (`old`). */
async function onNodesOf(app: string, seen: Map<string, PodSeen>, old: ReadonlySet<string>, t0: number): Promise<OnNodes> {
  const fresh = [...seen].filter(([name]) => !old.has(name));
  const events = await kube.list<CoreV1Event>('v1', 'Event', `slipway-${app}`, { fieldSelector: 'reason=Pulled' });
  const pullMs = fresh.flatMap(([name]) => {
    const ms = events.filter((e) => e.involvedObject?.name === name).map((e) => pullOf(e.message ?? '')).find((v) => v !== undefined);
    return ms === undefined ? [] : [ms];
  });
  const last = (k: 'running' | 'ready') => (fresh.length && fresh.every(([, p]) => p[k] !== undefined) ? Math.max(...fresh.map(([, p]) => p[k]!)) - t0 : undefined);
  return {
    nodes: fresh.map(([, p]) => p.node ?? 'unscheduled'),
    pullMs,
    ...(fresh.length ? { created: Math.min(...fresh.map(([, p]) => p.first)) - t0 } : {}),
    ...(last('running') === undefined ? {} : { running: last('running') }),
    ...(last('ready') === undefined ? {} : { ready: last('ready') }),
  };
}

/** Runs `command` while probing `app`, which answers `from`, and measures its switch to `to`. */
async function measure(app: string, from: string, to: string, command: (mark: Mark) => Promise<unknown>): Promise<Measure> {
  await waitForBody(SETTINGS.ingress, host(app), (b) => b === from, 60_000);
  const watch = watchPods(app);
  const probe = probeDuring(SETTINGS.ingress, host(app), { gapMs: GAP_MS, maxDurationMs: 10 * 60_000 });
  try {
    const old = new Set((await kube.list<V1Pod>('v1', 'Pod', `slipway-${app}`)).map((p) => p.metadata?.name ?? ''));
    await Promise.race([watch.listed, sleep(10_000)]);
    // The probe's first answer is the old body: it is up before the command starts.
    for (const end = performance.now() + 60_000; probe.answers.length === 0 && performance.now() < end;) await sleep(5);
    const t0 = performance.now();
    let released: number | undefined;
    const phases: Partial<Record<Phase, number>> = {};
    await command((line) => {
      const at = performance.now() - t0;
      if (line.startsWith('-----> Released v')) released ??= at;
      for (const [k, re] of Object.entries(PHASES) as [Phase, RegExp][]) if (re.test(line)) phases[k] ??= at;
    });
    const done = performance.now() - t0;
    const doneAt = done + t0 - probe.startedAt;
    // Until the target has answered AFTER requests in a row since the command returned, and TAIL_MS has passed.
    for (const end = performance.now() + 60_000; performance.now() < end; await sleep(GAP_MS)) {
      const tail = probe.answers.filter((a) => a.sentAt >= doneAt);
      let run = 0;
      for (let i = tail.length - 1; i >= 0 && tail[i]!.body === to; i--) run++;
      if (run >= SETTINGS.after && performance.now() - t0 - done >= TAIL_MS) break;
    }
    const answers = await probe.stop();
    const c = cutoverOf(answers, from, to);
    const origin = t0 - probe.startedAt;
    const all = c.allNew === undefined ? Infinity : Math.max(0, c.allNew - origin);
    const saidDone = origin + (released ?? done);
    const oldAfterDone = answers.filter((a) => a.sentAt >= saidDone && a.body === from).length;
    const onNodes = await onNodesOf(app, watch.pods, old, t0);
    return { done, ...(released === undefined ? {} : { released }), phases, all, mixed: c.mixedMs ?? 0, failed: c.failed, oldAfterNew: c.oldAfterNew, oldAfterDone, requests: c.requests, onNodes };
  } finally {
    await probe.stop();
    await watch.stop();
  }
}

type Row = 'pushW' | 'configW' | 'rollbackWarm' | 'rollbackDropped' | 'rollbackCold' | 'pushO' | 'configO' | 'rollbackO';
const results: Record<Row, Measure[]> = { pushW: [], configW: [], rollbackWarm: [], rollbackDropped: [], rollbackCold: [], pushO: [], configO: [], rollbackO: [] };

/** Waits (at most 60 s) until no pod of `app`'s release `version` is left, not even one finishing its preStop pause. */
async function untilGone(app: string, version: number): Promise<void> {
  const selector = `${LABEL.instance}=${app},${LABEL.release}=${version}`;
  for (const end = performance.now() + 60_000; performance.now() < end; await sleep(250)) {
    if ((await kube.list<V1Pod>('v1', 'Pod', `slipway-${app}`, { labelSelector: selector })).length === 0) return;
  }
  throw new Error(`pods of ${app} v${version} still there after 60 s`);
}
/** A command over SSH that does nearly nothing (ps:warm APP reads one setting): the SSH client's own share of each command. */
const sshAlone: number[] = [];
const stamp = Date.now().toString(36);
const made: string[] = [];
try {
  for (let round = 0; round < SETTINGS.rounds; round++) {
    const W = `bench-cut-${stamp}-${round}`;
    const O = `bench-cutoff-${stamp}-${round}`;
    const wds: Record<string, string> = {};
    for (const app of [W, O]) {
      await ssh(`apps:create ${app}`);
      made.push(app);
      const wd = fixtureCopy('node-app');
      wds[app] = wd;
      setTag(wd, 'a');
      await s.commitAll(wd, 'a');
      say(`round ${round + 1}: first push of ${app}`);
      await push(app, wd);
    }
    await warmOff(O);
    if (hasPsWarm) {
      const t0 = performance.now();
      await sshCommand(`ps:warm ${W}`, () => undefined);
      sshAlone.push(performance.now() - t0);
    }

    for (const [app, row] of [[W, 'pushW'], [O, 'pushO']] as const) {
      setTag(wds[app]!, 'b');
      await s.commitAll(wds[app]!, 'b');
      say(`round ${round + 1}: push (code change) to ${app}`);
      results[row].push(await measure(app, hello('a'), hello('b'), (mark) => push(app, wds[app]!, mark)));
    }
    for (const [app, row] of [[W, 'configW'], [O, 'configO']] as const) {
      say(`round ${round + 1}: config:set ${app}`);
      results[row].push(await measure(app, hello('b'), hello('b', 'bonjour'), (mark) => sshCommand(`config:set ${app} GREETING=bonjour`, mark)));
    }
    for (const [app, row] of [[W, 'rollbackWarm'], [O, 'rollbackO']] as const) {
      say(`round ${round + 1}: rollback ${app} v2`);
      results[row].push(await measure(app, hello('b', 'bonjour'), hello('b'), (mark) => sshCommand(`rollback ${app} v2`, mark)));
    }
    // W serves v4 (v2's instances), v3's are warm. Dropped, and a rollback to v3 at once: its
    // instances may still be finishing their preStop pause.
    say(`round ${round + 1}: ps:warm ${W} 0, rollback ${W} v3 at once`);
    await warmOff(W);
    results.rollbackDropped.push(await measure(W, hello('b'), hello('b', 'bonjour'), (mark) => sshCommand(`rollback ${W} v3`, mark)));
    // Past the window as it usually is: v2's instances, no longer kept, are all gone.
    await untilGone(W, 2);
    say(`round ${round + 1}: rollback ${W} v2 (past the window, its instances gone)`);
    results.rollbackCold.push(await measure(W, hello('b', 'bonjour'), hello('b'), (mark) => sshCommand(`rollback ${W} v2`, mark)));

    await Promise.all([W, O].map(async (app) => {
      await ssh(`apps:destroy ${app} --confirm ${app}`);
      await builder.purgeCache(app);
      made.splice(made.indexOf(app), 1);
    }));
  }
} finally {
  await Promise.all(made.map((app) => s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`)));
  await s.close();
}

const s2 = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'never');
const med = (xs: Measure[], f: (m: Measure) => number) => s2(median(xs.map(f)));
const row = (name: string, key: Row, goal: string) => {
  const xs = results[key];
  const afterDone = (m: Measure) => Math.max(0, m.all - (m.released ?? m.done));
  return `| ${name} | ${med(xs, (m) => m.all)} | ${xs.map((m) => s2(m.all)).join(', ')} | ${goal} | ${med(xs, (m) => m.released ?? m.done)} | ${med(xs, afterDone)} (max ${s2(Math.max(...xs.map(afterDone)))}) | ${med(xs, (m) => m.mixed)} (max ${s2(Math.max(...xs.map((m) => m.mixed)))}) | ${xs.reduce((a, m) => a + m.requests, 0)} | ${xs.reduce((a, m) => a + m.failed, 0)} | ${xs.reduce((a, m) => a + m.oldAfterNew, 0)} | ${xs.reduce((a, m) => a + m.oldAfterDone, 0)} |`;
};
const phaseCell = (xs: Measure[], k: Phase) => {
  const have = xs.map((m) => m.phases[k]).filter((v): v is number => v !== undefined);
  return have.length === xs.length ? s2(median(have)) : have.length ? `${s2(median(have))} (${have.length} of ${xs.length})` : '–';
};
const phaseRow = (name: string, key: Row) => {
  const xs = results[key];
  return `| ${name} | ${phaseCell(xs, 'output')} | ${phaseCell(xs, 'applied')} | ${phaseCell(xs, 'switched')} | ${med(xs, (m) => m.released ?? m.done)} | ${med(xs, (m) => m.done)} | ${med(xs, (m) => m.all)} | ${xs.filter((m) => m.phases.slicesOnly !== undefined).length} of ${xs.length} |`;
};
/** The median of what `f` gives for the measures that have it, or – when none does. */
const medOf = (xs: Measure[], f: (m: Measure) => number | undefined) => {
  const have = xs.map(f).filter((v): v is number => v !== undefined);
  return have.length ? s2(median(have)) : '–';
};
const nodesRow = (name: string, key: Row) => {
  const xs = results[key];
  const nodes = xs.flatMap((m) => m.onNodes.nodes);
  const where = [...new Set(nodes)].sort().map((n) => `${n} ${nodes.filter((x) => x === n).length}`).join(', ');
  const pulls = xs.flatMap((m) => m.onNodes.pullMs);
  const pull = pulls.length ? `${Math.round(median(pulls))} ms (max ${Math.round(Math.max(...pulls))}; ${pulls.filter((p) => p === 0).length} of ${pulls.length} had it)` : '–';
  const between = (m: Measure, from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? undefined : to - from);
  return `| ${name} | ${where || 'none (its instances were running)'} | ${pull} | ${medOf(xs, (m) => m.onNodes.created)} | ${medOf(xs, (m) => m.onNodes.running)} | ${medOf(xs, (m) => m.onNodes.ready)} | ${medOf(xs, (m) => between(m, m.onNodes.created, m.onNodes.running))} | ${medOf(xs, (m) => between(m, m.onNodes.running, m.onNodes.ready))} | ${medOf(xs, (m) => between(m, m.onNodes.ready, m.phases.switched))} | ${med(xs, (m) => m.all)} |`;
};
const report = [
  '# Cutover bench',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${SETTINGS.rounds} rounds (medians), fixture test/fixtures/node-app, builder ${SETTINGS.builder},`,
  `testbed node (Traefik on ${SETTINGS.ingress}), warm window ${SETTINGS.warmWindow || 'the default (SLIPWAY_WARM_ROLLBACK unset)'}, a switch confirmed by`,
  `${SETTINGS.ingressApi ? `the EndpointSlices and Traefik's API (SLIPWAY_INGRESS_API=${SETTINGS.ingressApi})` : 'the EndpointSlices only (SLIPWAY_INGRESS_API unset)'}. Machine: 2 shared cores.`,
  '',
  `"100 %": from the command's start until the first answer of the final run of target answers, a run that lasted`,
  `at least ${SETTINGS.after} requests and ${TAIL_MS / 1000} s after the command returned. Requests go one at a time, ${GAP_MS} ms apart (about`,
  `${Math.round(1000 / GAP_MS)} req/s), through the ingress. "Released / done" is the \`-----> Released\` line of a push, the return of other`,
  'commands; "after it" is how much of the 100 % time came after that (0: every request was on the target before; up to one',
  'request\'s time, ~0.04 s, is a request sent just before the command returned), and "old after Released / done" counts old',
  'answers to requests sent after it (0: the command said so only once every new request went to the target).',
  '"Mixed" is first target answer → 100 % (0 for an atomic switch). Failed and old-after-new are summed over all rounds.',
  '',
  ...(hasPsWarm ? [] : ['**This build has no `ps:warm`** (before issue 20): every row is its rolling update, nothing is kept warm.', '']),
  '| change | 100 % on target (median) | each round | goal | Released / done (median) | after it | mixed answers | requests | failed | old after new | old after Released / done |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  row('rollback, warm (within the window)', 'rollbackWarm', '≤ 0.5 s'),
  row('rollback, cold (past the window: no longer kept, its instances gone)', 'rollbackCold', '≤ 1.5 s'),
  row('rollback, cold, right after `ps:warm APP 0` dropped its instances', 'rollbackDropped', ''),
  row('push (code change), from `git push` start', 'pushW', '≤ 2.5 s'),
  row('`config:set`', 'configW', '≤ 1.5 s'),
  row('comparison, window off (`ps:warm APP 0` throughout): rollback', 'rollbackO', ''),
  row('comparison, window off: push (code change)', 'pushO', ''),
  row('comparison, window off: `config:set`', 'configO', ''),
  '',
  '## Where the time goes',
  '',
  'Medians, from the command\'s start, of when its output said: anything (SSH connected and the command running; a push: `-----> Deploying`),',
  '`Applied vN` (the objects applied: a push has built by then), `Switched the traffic` (the new set ready, the Service moved, the',
  `switch confirmed), \`Released\` (push), and when the command returned. For reference, an SSH command that does nearly nothing`,
  `(\`ps:warm APP\`) takes ${sshAlone.length ? `${s2(median(sshAlone))} (median of ${sshAlone.length})` : 'n/a'} from start to return.`,
  '',
  '| change | first output | Applied | Switched | Released / done | returned | 100 % | confirmed by the EndpointSlices only |',
  '|---|---|---|---|---|---|---|---|',
  phaseRow('rollback, warm', 'rollbackWarm'),
  phaseRow('rollback, cold', 'rollbackCold'),
  phaseRow('rollback, right after `ps:warm APP 0`', 'rollbackDropped'),
  phaseRow('push (code change)', 'pushW'),
  phaseRow('`config:set`', 'configW'),
  phaseRow('window off: rollback', 'rollbackO'),
  phaseRow('window off: push', 'pushO'),
  phaseRow('window off: `config:set`', 'configO'),
  '',
  '## On the nodes',
  '',
  'The instances each change started, from a pod watch (`kubectl get pods -w`, each line stamped as it arrived; medians from the',
  'command\'s start, the last instance of a change for "running" and "Ready"): the nodes they ran on (all rounds), their image',
  'pull (the Pulled event: its duration, 0 when the node had the image), when the first was created, when the kubelet reported',
  'it running (it notices a started container at its next look at the runtime, once a second) and Ready (the TCP readiness',
  'check, once a second), and the spans between, per change, up to `Switched the traffic` (the ingress routes to them).',
  '',
  '| change | new instances ran on | image pull (median) | created | reported running | Ready | created → running | running → Ready | Ready → Switched | 100 % |',
  '|---|---|---|---|---|---|---|---|---|---|',
  nodesRow('rollback, warm', 'rollbackWarm'),
  nodesRow('rollback, cold', 'rollbackCold'),
  nodesRow('rollback, right after `ps:warm APP 0`', 'rollbackDropped'),
  nodesRow('push (code change)', 'pushW'),
  nodesRow('`config:set`', 'configW'),
  nodesRow('window off: rollback', 'rollbackO'),
  nodesRow('window off: push', 'pushO'),
  nodesRow('window off: `config:set`', 'configO'),
  '',
].join('\n');
mkdirSync(resolve(SETTINGS.out, '..'), { recursive: true });
writeFileSync(SETTINGS.out, report);
process.stdout.write(report);
