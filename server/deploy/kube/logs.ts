// `logs`: the recent lines of every started instance merged by time, then (with -t) every
// instance's stream, picked up again after a restart from the last line shown.
import type { V1Pod } from '../../kube/types.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import { LABEL, namespaceFor, processName, selectorString } from '../../kube/labels.ts';
import { mergeLogs, formatLogLine, splitLogLine } from '../logs.ts';
import { podState, type PodState } from '../rollout.ts';
import type { LogRequest, LogSource } from '../deployer.ts';
import { KubePart } from './context.ts';

/** Most of one instance's recent log `logs -n` holds at once (the newest lines are kept). */
const MAX_LOG_TAIL_BYTES = 4 * 1024 * 1024;

/** Pod logs, merged by time, followed across restarts and new instances. */
export class KubeLogs extends KubePart implements LogSource {

  async logs(app: string, req: LogRequest, write: (line: string) => Promise<void>): Promise<void> {
    const ns = namespaceFor(app);
    const selector = selectorString({ [LABEL.instance]: app, ...(req.process ? { [LABEL.process]: processName(req.process) } : {}) });
    const fieldSelector = req.pod ? `metadata.name=${req.pod}` : undefined;
    const listPods = async () => (await this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selector, ...(fieldSelector ? { fieldSelector } : {}) })).map(podState).filter((p) => p.started);
    const pods = await listPods();
    if (pods.length === 0 && !req.follow) {
      throw new UserError(req.pod ? `${req.pod} of ${app} has not started or is gone; nothing to show.` : `${app} has no ${req.process ? `${req.process} ` : ''}instances that have started; nothing to show.`);
    }
    const texts = await Promise.all(pods.map(async (p) => ({ process: p.process, pod: p.name, text: await this.k.client.tailPodLog(ns, p.name, p.process, { tailLines: req.lines, maxBytes: MAX_LOG_TAIL_BYTES }) })));
    for (const line of mergeLogs(texts, req.lines)) await write(line);
    if (!req.follow) return;
    await this.#follow(ns, pods, texts, listPods, req.signal, write);
  }

  /**
   * Streams every started instance's log until `signal` aborts, picking up instances as they
   * start. A stream that ends (container restart, pod gone) is picked up again on the next poll
   * from the last line seen; lines at or before it are skipped so nothing prints twice.
   */
  async #follow(ns: string, initial: PodState[], seen: { pod: string; text: string }[], listPods: () => Promise<PodState[]>, signal: AbortSignal, write: (line: string) => Promise<void>): Promise<void> {
    const last = new Map<string, { time: string; key: string }>();
    for (const s of seen) {
      const lines = s.text.split('\n').filter(Boolean);
      const l = lines.length ? splitLogLine(lines[lines.length - 1]!) : undefined;
      last.set(s.pod, l?.key ? { time: l.time, key: l.key } : { time: '', key: '' });
    }
    const streaming = new Set<string>();
    const attach = (p: PodState) => {
      streaming.add(p.name);
      const since = last.get(p.name);
      void this.k.client
        .followPodLog(ns, p.name, p.process, { signal, ...(since?.time ? { sinceTime: since.time } : {}) }, (raw) => {
          const line = splitLogLine(raw);
          const prev = last.get(p.name);
          if (prev?.key && line.key && line.key <= prev.key) return;
          if (line.key) last.set(p.name, { time: line.time, key: line.key });
          return write(formatLogLine(p.process, p.name, line));
        })
        // A broken stream is not the end of `logs -t`: the next poll attaches to the pod again if
        // it is still there, from the last line shown.
        .catch((err: unknown) => log.debug('log stream broke; reattaching on the next poll', { pod: p.name, err }))
        .finally(() => streaming.delete(p.name));
    };
    for (const p of initial) attach(p);
    while (!signal.aborted) {
      try {
        await sleep(2000, undefined, { signal });
      } catch {
        break;
      }
      for (const p of await listPods()) if (!streaming.has(p.name)) attach(p);
    }
  }
}
