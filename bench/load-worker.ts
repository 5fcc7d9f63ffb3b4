// The ingress load of a bench in a process of its own (bench/build-load.ts): its requests are sent
// and timed apart from the bench process, which hosts the servers. A thread of that process is not
// apart enough: each program a server starts forks the whole process, and every thread of it waits
// while the fork copies its memory map (tens of ms with the bench's heap on a busy machine), which
// would show up as the app's latency.
//   node bench/load-worker.ts ADDR HOST RATE MAX_DURATION_MS
// The load runs until stdin ends; then one line of JSON goes to stdout: sent, failed, latenciesMs.
import { loadDuring } from '../test/support/ingress.ts';

const [addr, host, rate, maxMs] = process.argv.slice(2);
if (!addr || !host || !Number(rate) || !Number(maxMs)) {
  process.stderr.write('usage: node bench/load-worker.ts ADDR HOST RATE MAX_DURATION_MS\n');
  process.exit(2);
}
const load = loadDuring(addr, host, { ratePerSecond: Number(rate), maxDurationMs: Number(maxMs) });
process.stdin.resume();
process.stdin.once('end', () => {
  void load.stop().then(({ sent, failed, latenciesMs }) => {
    process.stdout.write(`${JSON.stringify({ sent, failed, latenciesMs })}\n`, () => process.exit(0));
  });
});
