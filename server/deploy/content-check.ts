// Dokku's `content` health checks: the response body must contain a text. Kubernetes' HTTP probes
// judge the status code only, so during a rollout the deployer asks each new instance itself
// (through the API server's pod proxy, see KubeClient.proxyGet) and fails the rollout when an
// instance does not answer with the text within the check's attempts. It asks from the moment the
// container runs, so that a wrong answer is usually caught before the kubelet finds the instance
// ready and it takes traffic; until then only a wrong answer counts as an attempt (an app still
// starting refuses connections or answers 503, which the kubelet's own probes judge). The
// bookkeeping is here, free of I/O; kube.ts does the asking.
import type { V1Pod } from '../kube/types.ts';
import type { HealthCheck, HealthChecks } from '../model.ts';
import { LABEL, processName } from '../kube/labels.ts';
import { CHECK_WAIT_S, PORT } from './workload.ts';
import { shown } from '../names.ts';

/** Most of a response body read to look for the content (an app's page is rarely larger). */
export const MAX_CONTENT_BODY_BYTES = 1024 * 1024;

/** What asking an instance gave: its HTTP answer, or why there was none. */
export type ProbeAnswer = { status: number; body: string } | { error: string };

/** One probe to make: which instance, which check, where. */
export interface ContentProbe {
  pod: string;
  type: string;
  check: HealthCheck & { content: string };
  port: number;
  /** Whether the kubelet found the instance ready when it was asked. */
  ready: boolean;
}

/** The verdict on one answer: null when it passes (2xx or 3xx, as the kubelet counts, and the body holds the content), else why not. */
export function contentVerdict(answer: ProbeAnswer, content: string): string | null {
  if ('error' in answer) return answer.error;
  if (answer.status < 200 || answer.status >= 400) return `it answered HTTP ${answer.status}`;
  if (!answer.body.includes(content)) return `the body did not contain ${shown(content)}`;
  return null;
}

interface PodProgress {
  failures: number;
  nextAt: number;
  passed: boolean;
}

/** The content checks of one rollout: which new instances are due a probe, which passed, and the first that failed for good. */
export class ContentChecks {
  readonly #checks: [string, HealthCheck & { content: string }][];
  readonly #progress = new Map<string, PodProgress>();
  #failure: string | null = null;

  constructor(checks: HealthChecks | undefined) {
    this.#checks = Object.entries(checks ?? {}).flatMap(([type, list]) =>
      list.filter((c): c is HealthCheck & { content: string } => c.content !== undefined).map((c) => [type, c] as [string, HealthCheck & { content: string }]));
  }

  /** Whether there is any content check at all. */
  get any(): boolean {
    return this.#checks.length > 0;
  }

  /** The first instance that failed its check for good, in one clause. */
  get failure(): string | null {
    return this.#failure;
  }

  #checked(p: V1Pod): { type: string; check: HealthCheck & { content: string } }[] {
    const process = p.metadata?.labels?.[LABEL.process];
    return this.#checks.filter(([type]) => processName(type) === process).map(([type, check]) => ({ type, check }));
  }

  /** The probes due now: each running new instance not yet passed, its initial delay and its wait since the last try over. */
  due(pods: readonly V1Pod[], now: number): ContentProbe[] {
    const out: ContentProbe[] = [];
    for (const p of pods) {
      const pod = p.metadata?.name ?? '';
      const cs = p.status?.containerStatuses?.[0];
      const started = cs?.state?.running?.startedAt;
      if (p.metadata?.deletionTimestamp || !started) continue;
      for (const { type, check } of this.#checked(p)) {
        const at = this.#progress.get(`${pod}\0${type}\0${check.type}`);
        if (at?.passed || (at && now < at.nextAt)) continue;
        if (now < new Date(started).getTime() + (check.initialDelay ?? 0) * 1000) continue;
        out.push({ pod, type, check, port: check.port ?? PORT, ready: cs?.ready === true });
      }
    }
    return out;
  }

  /** Records a probe's answer (true: it passed); after the check's attempts in a row fail, `failure` says which and why. */
  record(probe: ContentProbe, answer: ProbeAnswer, now: number): boolean {
    const key = `${probe.pod}\0${probe.type}\0${probe.check.type}`;
    const at = this.#progress.get(key) ?? { failures: 0, nextAt: 0, passed: false };
    const why = contentVerdict(answer, probe.check.content);
    if (why === null) {
      this.#progress.set(key, { ...at, passed: true });
      return true;
    }
    const answered = 'status' in answer && answer.status >= 200 && answer.status < 400;
    const failures = at.failures + (probe.ready || answered ? 1 : 0);
    this.#progress.set(key, { failures, nextAt: now + (probe.check.wait ?? CHECK_WAIT_S) * 1000, passed: false });
    if (failures >= (probe.check.attempts ?? 3)) {
      this.#failure ??= `${probe.type} instance ${probe.pod} failed its ${probe.check.type} check (GET ${probe.check.path} for ${shown(probe.check.content)}): ${why}`;
    }
    return false;
  }

  /** Whether every live instance of a checked type passed each of its content checks. */
  allPassed(pods: readonly V1Pod[]): boolean {
    return pods.filter((p) => !p.metadata?.deletionTimestamp).every((p) =>
      this.#checked(p).every(({ type, check }) => this.#progress.get(`${p.metadata?.name ?? ''}\0${type}\0${check.type}`)?.passed === true));
  }
}
