// The ingress load of a bench on a thread of its own (bench/build-load.ts): its requests are sent
// and timed on this thread's event loop, which nothing else in the bench process runs on, so a busy
// server hosted by the bench (relaying build output) does not show up as the app's latency.
// workerData: { addr, host, options }; a message 'stop' ends the load and posts the LoadResult.
import { parentPort, workerData } from 'node:worker_threads';
import { loadDuring, type LoadOptions } from '../test/support/ingress.ts';

const { addr, host, options } = workerData as { addr: string; host: string; options: LoadOptions };
const load = loadDuring(addr, host, options);
parentPort!.once('message', () => {
  void load.stop().then((result) => parentPort!.postMessage(result));
});
