// The one Kubernetes client: Slipway's own, on node:http(s) (http.ts), with the kubeconfig read
// by kubeconfig.ts, kinds found by discovery (discovery.ts), and exec, followed logs and watches
// in their own modules. Every call's failure becomes one clear sentence for the user (API down,
// credentials refused, rights missing: api-error.ts), the original kept as `cause`.
// @kubernetes/client-node gives the model types only (`import type`: nothing of it is loaded at
// run time; importing it costs about 80 MiB).
import { yamlDocuments } from './yaml.ts';
import { UnavailableError, UserError } from '../errors.ts';
import { explain, isStatus, statusMessage } from './api-error.ts';
import { Discovery, resourcePath } from './discovery.ts';
import { runExec } from './exec.ts';
import { KubeHttp } from './http.ts';
import { loadKubeconfig } from './kubeconfig.ts';
import { FIELD_MANAGER } from './labels.ts';
import { readLogLines } from './pod-log.ts';
import type { ProcessIo } from './process-io.ts';
import { rawGet, type RawAnswer } from './raw.ts';
import { runWatch, type WatchEvent } from './watch.ts';
import { fromWire, toWire } from './wire.ts';
export { KubeApiError } from './api-error.ts';
export { execExitCode } from './exec.ts';
export { WatchExpiredError, type WatchEvent } from './watch.ts';
// The model types, re-exported from types.ts (their one home; type-only, erased at run time).
export type * from './types.ts';
import type { KubeObject } from './types.ts';

/** The objects of a YAML manifest (documents separated by `---`; empty ones skipped), each with a kind and a name. */
export function parseManifest(text: string): KubeObject[] {
  const docs = yamlDocuments(text).filter((d) => d !== null && d !== undefined);
  for (const d of docs) {
    const o = d as Partial<KubeObject>;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') throw new UserError('A document of the manifest has no apiVersion, kind or metadata.name.');
  }
  return docs.map((d) => fromWire(d as KubeObject));
}

/** Options for one pod-log read. */
export interface PodLogOptions {
  tailLines?: number;
  /** The previous (crashed) run of the container. */
  previous?: boolean;
  sinceTime?: string;
  /** Bytes the API sends at most, counted from the oldest line asked for. */
  limitBytes?: number;
}

/** A pod's usage as metrics.k8s.io/v1beta1 reports it (a PodMetrics object; the fields Slipway reads). */
export interface PodMetricsItem {
  /** Named as the pod, with the pod's labels. */
  metadata?: { name?: string; labels?: Record<string, string> };
  /** Quantities: CPU as cores over the window (`12345678n`), memory as the working set (`20480Ki`). */
  containers?: { name?: string; usage?: { cpu?: string; memory?: string } }[];
}

/** Label and field selectors of a list. */
type Selectors = { labelSelector?: string; fieldSelector?: string };

/** ` in NS`, or nothing, for messages. */
const inNs = (namespace: string | undefined) => (namespace ? ` in ${namespace}` : '');

/** The path of a pod's subresource. */
const podPath = (namespace: string, pod: string, sub: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/${sub}`;

/** A write this client made: an object applied (as the API server answered) or one deleted. */
export type Written =
  | { op: 'applied'; apiVersion: string; kind: string; namespace: string | undefined; name: string; object: unknown }
  | { op: 'removed'; apiVersion: string; kind: string; namespace: string | undefined; name: string };

/** A connection to one cluster, from a kubeconfig file. */
export class KubeClient {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly #http: KubeHttp;
  readonly #discovery: Discovery;
  /** The kubeconfig context's namespace: where a namespaced object named without one is. */
  readonly #namespace: string;
  readonly #writeListeners: ((w: Written) => void)[] = [];

  constructor(kubeconfigPath: string) {
    const target = loadKubeconfig(kubeconfigPath);
    this.server = target.server;
    this.#namespace = target.namespace;
    this.#http = new KubeHttp(target);
    this.#discovery = new Discovery(this.#http);
  }

  /** HTTP requests sent to the API server so far (discovery, watches, log streams and exec included). */
  get requestCount(): number {
    return this.#http.requestCount;
  }

  /** The requests sent so far by verb: GET, PATCH, POST, DELETE, WATCH, EXEC. */
  get requestsByVerb(): Readonly<Record<string, number>> {
    return this.#http.requestsByVerb;
  }

  /** Runs one API call; `what` completes "The kubeconfig's user may not …" (e.g. "list Pods in x"). */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.#explain(what, err);
    }
  }

  #explain(what: string, err: unknown): Error {
    return explain(this.server, what, err);
  }

  /** The path of a kind's objects (`name`: of one object; a namespaced one named without a namespace is in the context's). */
  async #path(apiVersion: string, kind: string, namespace: string | undefined, name?: string): Promise<string> {
    const r = await this.#discovery.resource(apiVersion, kind);
    return resourcePath(r, namespace ?? (name === undefined ? undefined : this.#namespace), name);
  }

  /**
   * Server-side apply, forcing ownership to `fieldManager`: the object becomes exactly what we
   * send for the fields we own. Unlike client-side apply it leaves no last-applied annotation,
   * which for a Secret would copy its values into metadata.
   */
  async apply<T extends KubeObject>(obj: T, fieldManager: string = FIELD_MANAGER): Promise<T> {
    return this.#call(`apply ${obj.kind} ${obj.metadata.name}${inNs(obj.metadata.namespace)}`, async () => {
      const path = await this.#path(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
      // The apply content type takes YAML, of which JSON is a part.
      const answer = fromWire(await this.#http.json<T>({ method: 'PATCH', path, query: { fieldManager, force: true }, body: toWire(obj), contentType: 'application/apply-patch+yaml' }));
      this.#wrote({ op: 'applied', apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, object: answer });
      return answer;
    });
  }

  /** Hears every write this client makes (the read cache keeps what this server wrote). */
  onWrite(listener: (w: Written) => void): void {
    this.#writeListeners.push(listener);
  }

  #wrote(w: Written): void {
    for (const l of this.#writeListeners) l(w);
  }

  /** Objects of a kind in a namespace (or cluster-wide), filtered by label and field selectors. */
  async list<T>(apiVersion: string, kind: string, namespace: string | undefined, opts: Selectors = {}): Promise<T[]> {
    return (await this.listVersioned<T>(apiVersion, kind, namespace, opts)).items;
  }

  /** As list, with the list's resourceVersion: where a watch of the same objects starts. */
  async listVersioned<T>(apiVersion: string, kind: string, namespace: string | undefined, opts: Selectors = {}): Promise<{ items: T[]; resourceVersion: string }> {
    return this.#call(`list ${kind}s${inNs(namespace)}`, async () => {
      const path = await this.#path(apiVersion, kind, namespace);
      const list = await this.#http.json<{ metadata?: { resourceVersion?: string }; items?: T[] | null }>({ method: 'GET', path, query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector } });
      return { items: (list.items ?? []).map((o) => fromWire(o, kind)), resourceVersion: list.metadata?.resourceVersion ?? '' };
    });
  }

  /**
   * Watches from resourceVersion (allowWatchBookmarks=true, timeoutSeconds), calling onEvent per
   * event in order; resolves when the API server ends the watch or `signal` aborts; rejects with
   * WatchExpiredError on 410, with the explained error when the stream breaks.
   */
  async watch<T>(apiVersion: string, kind: string, namespace: string | undefined, opts: { labelSelector?: string; resourceVersion: string; timeoutSeconds: number; signal: AbortSignal }, onEvent: (e: WatchEvent<T>) => void): Promise<void> {
    const what = `watch ${kind}s${inNs(namespace)}`;
    const path = await this.#call(what, () => this.#path(apiVersion, kind, namespace));
    await runWatch<T>(this.#http, { path, ...opts }, (o) => fromWire(o, kind), onEvent, (err) => this.#explain(what, err));
  }

  /**
   * The PodMetrics of a namespace's pods matching `labelSelector`. An aggregated API (metrics-server
   * behind the APIService v1beta1.metrics.k8s.io) that is not there answers 404, one whose backend
   * is down 503: both are an UnavailableError, the cluster's state rather than the request's.
   */
  async podMetrics(namespace: string, labelSelector: string): Promise<PodMetricsItem[]> {
    try {
      const list = await this.#http.json<{ items?: PodMetricsItem[] }>({ method: 'GET', path: `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods`, query: { labelSelector } });
      return list.items ?? [];
    } catch (err) {
      if (isStatus(err, 404)) throw new UnavailableError('The cluster has no metrics API (metrics-server); k3s runs one unless started with --disable metrics-server, other clusters need it installed.', { cause: err });
      if (isStatus(err, 503)) throw new UnavailableError(`The cluster's metrics API (metrics-server) is not answering; try again in a minute (kubectl get apiservice v1beta1.metrics.k8s.io says why).`, { cause: err });
      throw this.#explain(`read the metrics of pods in ${namespace}`, err);
    }
  }

  /** One object, or undefined when it does not exist. */
  async read<T>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    try {
      const path = await this.#path(apiVersion, kind, namespace, name);
      return fromWire(await this.#http.json<T>({ method: 'GET', path }), kind);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw this.#explain(`read ${kind} ${name}${inNs(namespace)}`, err);
    }
  }

  /** Deletes an object (its dependents in the background); false when it did not exist. */
  async remove(apiVersion: string, kind: string, name: string, namespace?: string, opts: { gracePeriodSeconds?: number } = {}): Promise<boolean> {
    try {
      const path = await this.#path(apiVersion, kind, namespace, name);
      await this.#http.json({ method: 'DELETE', path, query: { propagationPolicy: 'Background', gracePeriodSeconds: opts.gracePeriodSeconds } });
      this.#wrote({ op: 'removed', apiVersion, kind, namespace, name });
      return true;
    } catch (err) {
      if (isStatus(err, 404)) return false;
      throw this.#explain(`delete ${kind} ${name}${inNs(namespace)}`, err);
    }
  }

  /**
   * Asks the Eviction API (policy/v1) to remove a pod, which the API server grants only within
   * the PodDisruptionBudgets that select it: `evicted`, `gone` (no such pod), or `blocked` with the
   * API server's reason when a budget allows no disruption now (429; asking again later may pass).
   */
  async evict(namespace: string, pod: string): Promise<{ result: 'evicted' | 'gone' } | { result: 'blocked'; reason: string }> {
    try {
      await this.#http.json({ method: 'POST', path: podPath(namespace, pod, 'eviction'), body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace } } });
      return { result: 'evicted' };
    } catch (err) {
      if (isStatus(err, 404)) return { result: 'gone' };
      if (isStatus(err, 429)) return { result: 'blocked', reason: statusMessage(err.body) || 'a disruption budget allows no eviction now' };
      throw this.#explain(`evict pod ${pod} in ${namespace}`, err);
    }
  }

  /** The log of a pod's container so far, each line prefixed with its RFC 3339 timestamp. */
  async podLog(namespace: string, pod: string, container: string, opts: PodLogOptions = {}): Promise<string> {
    return this.#call(`read the log of pod ${pod} in ${namespace}`, () =>
      this.#http.text({ method: 'GET', path: podPath(namespace, pod, 'log'), query: { container, tailLines: opts.tailLines, previous: opts.previous, timestamps: true, limitBytes: opts.limitBytes } }));
  }

  /**
   * The newest lines of a container's log (timestamped), at most `tailLines` of them and at most
   * about `maxBytes`: a log of long lines is not read whole. The API cuts at `limitBytes` from the
   * oldest line asked for, so when the lines asked for are more than that, fewer are asked for
   * again (as many as fit at the size seen, a few tries at most) and a cut last line is dropped.
   */
  async tailPodLog(namespace: string, pod: string, container: string, opts: { tailLines: number; maxBytes: number }): Promise<string> {
    let tailLines = opts.tailLines;
    for (let attempt = 0; ; attempt++) {
      const text = await this.podLog(namespace, pod, container, { tailLines, limitBytes: opts.maxBytes });
      const bytes = Buffer.byteLength(text);
      if (bytes < opts.maxBytes) return text;
      const lines = Math.max(1, text.split('\n').length - 1);
      const fit = Math.floor((lines * opts.maxBytes * 0.9) / bytes);
      if (attempt === 3 || fit < 1 || fit >= tailLines) return text.slice(0, text.lastIndexOf('\n') + 1);
      tailLines = fit;
    }
  }

  /**
   * Streams a container's log (timestamped lines) to `onLine` until the container's log ends or
   * `signal` aborts; resolves then. The next chunk is read only once `onLine` took this one's lines.
   */
  async followPodLog(namespace: string, pod: string, container: string, opts: PodLogOptions & { signal: AbortSignal }, onLine: (line: string) => Promise<void> | void): Promise<void> {
    if (opts.signal.aborted) return;
    const what = `stream the log of pod ${pod} in ${namespace}`;
    let res;
    try {
      // A log may stay quiet for hours: no idle limit; TCP probes find a dead connection.
      res = await this.#http.open({
        method: 'GET', path: podPath(namespace, pod, 'log'), stream: true, idleMs: 0, signal: opts.signal,
        query: { container, follow: true, timestamps: true, tailLines: opts.tailLines, sinceTime: opts.sinceTime || undefined },
      });
    } catch (err) {
      if (opts.signal.aborted) return;
      throw this.#explain(what, err);
    }
    await readLogLines(res, opts.signal, onLine, (err) => this.#explain(what, err));
  }

  /**
   * Runs `command` in a running container over the exec API (the v5 channel protocol, so the end
   * of `io.stdin` reaches the command as end of file), with a PTY when `io.terminal` is given.
   * Resolves with the command's exit code; rejects when the stream breaks without one, or with
   * the abort reason when `signal` aborts.
   */
  async exec(namespace: string, pod: string, container: string, command: string[], io: ProcessIo, signal: AbortSignal): Promise<number> {
    const what = `run a command in pod ${pod} in ${namespace}`;
    return runExec(this.#http, { namespace, pod, container, command }, io, signal, what, (err) => this.#explain(what, err));
  }

  /**
   * GET `path` from a pod's port through the API server's pod proxy (what `kubectl get --raw
   * /api/v1/namespaces/NS/pods/POD:PORT/proxy/PATH` does): the status and up to `maxBytes` of the
   * body, or `error` when the API server could not reach the pod (its 502/503 Status says why) or
   * the answer took longer than `timeoutMs`.
   */
  async proxyGet(namespace: string, pod: string, port: number, path: string, opts: { timeoutMs: number; maxBytes: number }): Promise<RawAnswer> {
    return this.rawGet(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${port}/proxy${path}`, opts);
  }

  /**
   * GET a path of the API server as the kubeconfig's user (`kubectl get --raw PATH`): the status
   * and up to `maxBytes` of the body, or `error` when a proxy path could not reach its backend or
   * the answer took longer than `timeoutMs`.
   */
  async rawGet(path: string, opts: { timeoutMs: number; maxBytes: number }): Promise<RawAnswer> {
    return rawGet(this.#http, path, opts);
  }
}
