// The one module that talks to the Kubernetes API (@kubernetes/client-node lives only here, at
// run time). Every call goes through `call`, which turns the library's failures into one clear
// sentence for the user (API down, credentials refused, rights missing) and keeps the original
// as `cause`.
import { addAbortListener } from 'node:events';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ProcessIo } from './process-io.ts';
import { ApiException, CoreV1Api, CustomObjectsApi, Exec, KubeConfig, KubernetesObjectApi, Log, PatchStrategy, loadAllYaml, type V1ObjectMeta, type V1Status } from '@kubernetes/client-node';
import { UnavailableError, UserError } from '../errors.ts';
import { FIELD_MANAGER } from './labels.ts';
// The model types the pure modules name, through kube-types.ts.
export type {
  CoreV1Event, V1ConfigMap, V1Container, V1CronJob, V1Deployment, V1Job, V1Ingress, V1Namespace, V1ObjectMeta, V1EnvVar, V1LimitRange, V1Pod, V1Probe, V1ReplicaSet, V1ResourceQuota, V1ResourceRequirements, V1Secret, V1Service,
  V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1PodSecurityContext, V1PodSpec, V1SecurityContext,
  V1DeploymentStrategy, V1EndpointSlice, V1PersistentVolumeClaim, V1Volume, V1VolumeMount,
  V1Affinity, V1Node, V1PodDisruptionBudget, V1TopologySpreadConstraint,
} from '@kubernetes/client-node';

/**
 * A Kubernetes object as Slipway builds and applies it: the library's own model type, with the
 * fields server-side apply needs made required.
 */
export type KubeObject<T = object> = T & {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string };
};

/** The objects of a YAML manifest (documents separated by `---`; empty ones skipped), each with a kind and a name. */
export function parseManifest(text: string): KubeObject[] {
  const docs = (loadAllYaml(text) as unknown[]).filter((d) => d !== null && d !== undefined);
  for (const d of docs) {
    const o = d as Partial<KubeObject>;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') throw new UserError('A document of the manifest has no apiVersion, kind or metadata.name.');
  }
  return docs as KubeObject[];
}

/** The `code` of the first error in a cause chain that has one (ECONNREFUSED, ENOTFOUND, …). */
function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The `message` of a Kubernetes Status body (the library hands it over as text or as JSON). */
function statusMessage(body: unknown): string {
  let b = body;
  if (typeof body === 'string') {
    try { b = JSON.parse(body); } catch { return body.slice(0, 300); }
  }
  const m = (b as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : '';
}

/** An API answer with this HTTP status. */
function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
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

/** The exit code an exec's final Status reports: 0 on Success, the ExitCode cause otherwise. */
export function execExitCode(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message !== undefined && /^\d+$/.test(cause.message) ? Number(cause.message) : undefined;
}

/** Bytes one exec output stream may hold for a slow reader before the websocket stops reading. */
const EXEC_OUTPUT_HIGH_WATER = 64 * 1024;
/** Bytes the exec websocket may queue towards the pod before the caller's input is paused. */
const EXEC_INPUT_HIGH_WATER = 256 * 1024;
/** How often paused input looks at whether the websocket has sent enough to go on. */
const EXEC_INPUT_RECHECK_MS = 20;
/** Longest log line kept whole; a container printing without a newline has it cut here. */
const MAX_LOG_LINE = 64 * 1024;

/** What exec uses of the websocket the library hands back (the `ws` package's WebSocket). */
interface ExecSocket {
  readonly bufferedAmount: number;
  /** Stops reading the socket, so TCP holds the API server (and the pod's output) back. */
  pause(): void;
  resume(): void;
  close(): void;
  /** Closes at once, without the closing handshake. */
  terminate(): void;
  addEventListener(type: 'close', listener: () => void): void;
}

/**
 * A sink the library writes a stream of the exec to. The library writes every message it gets
 * and ignores write()'s answer, so the sink acts on it itself: while the reader (`write`) holds
 * more than a small backlog, `full(true)` stops the websocket reading; 'drain' lets it go on.
 * With a terminal it also looks like one (`columns`, `rows`, 'resize'): that is how the library
 * learns to send window sizes.
 */
class Sink extends Writable {
  columns = 0;
  rows = 0;
  readonly #full: (full: boolean) => void;
  constructor(write: (chunk: Buffer) => Promise<void>, full: (full: boolean) => void) {
    super({
      highWaterMark: EXEC_OUTPUT_HIGH_WATER,
      write(chunk: Buffer, _encoding, callback) { write(chunk).then(() => callback(), callback); },
    });
    this.#full = full;
    this.on('drain', () => full(false));
  }
  // The overloads of Writable.write, in one signature that passes everything on.
  override write(chunk: unknown, encoding?: BufferEncoding | ((err?: Error | null) => void), callback?: (err?: Error | null) => void): boolean {
    const ok = typeof encoding === 'function' ? super.write(chunk, encoding) : super.write(chunk, encoding as BufferEncoding, callback);
    if (!ok) this.#full(true);
    return ok;
  }
}

/** A connection to one cluster, from a kubeconfig file. */
export class KubeClient {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #objects: KubernetesObjectApi;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;

  constructor(kubeconfigPath: string) {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(kubeconfigPath);
    } catch (err) {
      throw new UserError(`The kubeconfig ${kubeconfigPath} (KUBECONFIG) cannot be read: ${(err as Error).message}.`, { cause: err });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new UserError(`The kubeconfig ${kubeconfigPath} (KUBECONFIG) has no current context with a cluster.`);
    this.server = cluster.server;
    this.#kc = kc;
    this.#objects = KubernetesObjectApi.makeApiClient(kc);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
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
    if (err instanceof ApiException) {
      const message = statusMessage(err.body);
      if (err.code === 401) return new UserError(`The kubeconfig's user may not ${what}: the Kubernetes API at ${this.server} refused its credentials (401 Unauthorized).`, { cause: err });
      // Quota admission answers 403 too: that is the app's quota, not the kubeconfig's rights.
      if (err.code === 403 && /exceeded quota/.test(message)) return new UserError(`Kubernetes refused to ${what}: the app's quota is used up (${message}).`, { cause: err });
      if (err.code === 403 && /being terminated/.test(message)) return new UserError(`Kubernetes is still deleting this app's namespace; try again in a minute (${message}).`, { cause: err });
      if (err.code === 403) return new UserError(`The kubeconfig's user may not ${what} (403 Forbidden: ${message || 'no reason given'}).`, { cause: err });
      return new Error(`Kubernetes: ${what} failed with HTTP ${err.code}${message ? `: ${message}` : ''}`, { cause: err });
    }
    const code = networkCode(err);
    if (code || (err instanceof TypeError && /fetch failed/.test(err.message))) {
      return new UserError(`The Kubernetes API at ${this.server} is not reachable: ${code ?? (err as Error).message}.`, { cause: err });
    }
    return new Error(`Kubernetes: ${what} failed`, { cause: err });
  }

  /**
   * Server-side apply, forcing ownership to `fieldManager`: the object becomes exactly what we
   * send for the fields we own. Unlike client-side apply it leaves no last-applied annotation,
   * which for a Secret would copy its values into metadata.
   */
  async apply<T extends KubeObject>(obj: T, fieldManager: string = FIELD_MANAGER): Promise<T> {
    const where = obj.metadata.namespace ? ` in ${obj.metadata.namespace}` : '';
    return this.#call(`apply ${obj.kind} ${obj.metadata.name}${where}`, () =>
      this.#objects.patch(obj, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply));
  }

  /** Objects of a kind in a namespace (or cluster-wide), filtered by label and field selectors. */
  async list<T>(apiVersion: string, kind: string, namespace: string | undefined, opts: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
    const r = await this.#call(`list ${kind}s${namespace ? ` in ${namespace}` : ''}`, () =>
      this.#objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, opts.fieldSelector, opts.labelSelector));
    return r.items as T[];
  }

  /**
   * The PodMetrics of a namespace's pods matching `labelSelector`. An aggregated API (metrics-server
   * behind the APIService v1beta1.metrics.k8s.io) that is not there answers 404, one whose backend
   * is down 503: both are an UnavailableError, the cluster's state rather than the request's.
   */
  async podMetrics(namespace: string, labelSelector: string): Promise<PodMetricsItem[]> {
    try {
      const list = await this.#custom.listNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace, plural: 'pods', labelSelector });
      return (list as { items?: PodMetricsItem[] }).items ?? [];
    } catch (err) {
      if (isStatus(err, 404)) throw new UnavailableError('The cluster has no metrics API (metrics-server); k3s runs one unless started with --disable metrics-server, other clusters need it installed.', { cause: err });
      if (isStatus(err, 503)) throw new UnavailableError(`The cluster's metrics API (metrics-server) is not answering; try again in a minute (kubectl get apiservice v1beta1.metrics.k8s.io says why).`, { cause: err });
      throw this.#explain(`read the metrics of pods in ${namespace}`, err);
    }
  }

  /** One object, or undefined when it does not exist. */
  async read<T>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    try {
      return (await this.#objects.read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } })) as T;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw this.#explain(`read ${kind} ${name}${namespace ? ` in ${namespace}` : ''}`, err);
    }
  }

  /** Deletes an object (its dependents in the background); false when it did not exist. */
  async remove(apiVersion: string, kind: string, name: string, namespace?: string, opts: { gracePeriodSeconds?: number } = {}): Promise<boolean> {
    try {
      await this.#objects.delete({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } }, undefined, undefined, opts.gracePeriodSeconds, undefined, 'Background');
      return true;
    } catch (err) {
      if (isStatus(err, 404)) return false;
      throw this.#explain(`delete ${kind} ${name}${namespace ? ` in ${namespace}` : ''}`, err);
    }
  }

  /**
   * Asks the Eviction API (policy/v1) to remove a pod, which the API server grants only within
   * the PodDisruptionBudgets that select it: `evicted`, `gone` (no such pod), or `blocked` with the
   * API server's reason when a budget allows no disruption now (429; asking again later may pass).
   */
  async evict(namespace: string, pod: string): Promise<{ result: 'evicted' | 'gone' } | { result: 'blocked'; reason: string }> {
    try {
      await this.#core.createNamespacedPodEviction({ name: pod, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace } } });
      return { result: 'evicted' };
    } catch (err) {
      if (isStatus(err, 404)) return { result: 'gone' };
      if (isStatus(err, 429)) return { result: 'blocked', reason: statusMessage((err as ApiException<unknown>).body) || 'a disruption budget allows no eviction now' };
      throw this.#explain(`evict pod ${pod} in ${namespace}`, err);
    }
  }

  /** The log of a pod's container so far, each line prefixed with its RFC 3339 timestamp. */
  async podLog(namespace: string, pod: string, container: string, opts: PodLogOptions = {}): Promise<string> {
    return this.#call(`read the log of pod ${pod} in ${namespace}`, () =>
      this.#core.readNamespacedPodLog({ name: pod, namespace, container, tailLines: opts.tailLines, previous: opts.previous, timestamps: true, limitBytes: opts.limitBytes }));
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
   * `signal` aborts; resolves then.
   */
  async followPodLog(namespace: string, pod: string, container: string, opts: PodLogOptions & { signal: AbortSignal }, onLine: (line: string) => Promise<void> | void): Promise<void> {
    if (opts.signal.aborted) return;
    let partial = '';
    let finish!: () => void;
    let fail!: (err: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => { finish = resolve; fail = reject; });
    const deliver = async (lines: string[]) => { for (const l of lines) await onLine(l); };
    // The next chunk is asked for only once the reader took this one's lines: the library pipes
    // the response into the sink, so the response (and the API server's stream) waits too.
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        if (partial.length > MAX_LOG_LINE) {
          lines.push(partial);
          partial = '';
        }
        deliver(lines).then(() => callback(), (err: unknown) => { fail(err); callback(); });
      },
      final(callback) {
        deliver(partial ? [partial] : []).then(() => callback(), (err: unknown) => { fail(err); callback(); });
      },
    });
    sink.once('finish', () => finish());
    // The library pipes the response into `sink` but leaves the response's own errors (our abort,
    // a dropped connection) unhandled, which would crash the process: catch them here.
    sink.once('pipe', (source: NodeJS.ReadableStream) => {
      source.once('error', (err: unknown) => {
        if (opts.signal.aborted) finish();
        else fail(this.#explain(`stream the log of pod ${pod} in ${namespace}`, err));
      });
    });
    const controller = await this.#call(`stream the log of pod ${pod} in ${namespace}`, () =>
      new Log(this.#kc).log(namespace, pod, container, sink, {
        follow: true, timestamps: true,
        ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
        ...(opts.sinceTime ? { sinceTime: opts.sinceTime } : {}),
      }));
    const stop = () => { controller.abort(); finish(); };
    if (opts.signal.aborted) stop();
    opts.signal.addEventListener('abort', stop, { once: true });
    try {
      await finished;
    } finally {
      opts.signal.removeEventListener('abort', stop);
      // Ended by a failed reader too: the stream is not left running with nobody to take it.
      controller.abort();
    }
  }

  /**
   * Runs `command` in a running container over the exec API (the v5 channel protocol, so the end
   * of `io.stdin` reaches the command as end of file), with a PTY when `io.terminal` is given.
   * Resolves with the command's exit code; rejects when the stream breaks without one, or with
   * the abort reason when `signal` aborts.
   */
  async exec(namespace: string, pod: string, container: string, command: string[], io: ProcessIo, signal: AbortSignal): Promise<number> {
    const what = `run a command in pod ${pod} in ${namespace}`;
    // Output: while a sink holds more than its backlog for a slow reader, the websocket stops
    // reading, TCP holds the API server back, and the kubelet stops reading the command's pipe.
    let ws: ExecSocket | undefined;
    const full = new Set<Sink>();
    const hold = (sink: Sink, isFull: boolean) => {
      if (isFull) full.add(sink);
      else full.delete(sink);
      if (full.size > 0) ws?.pause();
      else ws?.resume();
    };
    const stdout: Sink = new Sink(io.stdout, (f) => hold(stdout, f));
    const stderr: Sink = new Sink(io.stderr, (f) => hold(stderr, f));
    // A reader that failed ends the exec; the error is the rejection (through `finished` below).
    for (const sink of [stdout, stderr]) sink.on('error', () => ws?.close());
    const term = io.terminal;
    if (term) {
      stdout.columns = term.cols;
      stdout.rows = term.rows;
      term.onResize((size) => {
        stdout.columns = size.cols;
        stdout.rows = size.rows;
        stdout.emit('resize');
      });
    }
    let status: V1Status | undefined;
    ws = (await this.#call(what, () => new Exec(this.#kc).exec(namespace, pod, container, command, stdout, term ? null : stderr, io.stdin, term !== undefined, (s) => { status = s; }))) as ExecSocket;
    if (full.size > 0) ws.pause();
    const socket = ws;
    // Input: the library sends whatever the caller's stream gives, and the websocket queues what
    // the pod does not take; past a backlog the caller's stream is paused (an SSH channel then
    // stops opening its window, so the client stops sending) until the websocket has sent it.
    let waiting: NodeJS.Timeout | undefined;
    const onInput = () => {
      if (waiting || socket.bufferedAmount <= EXEC_INPUT_HIGH_WATER) return;
      io.stdin.pause();
      waiting = setInterval(() => {
        if (socket.bufferedAmount > EXEC_INPUT_HIGH_WATER / 2) return;
        clearInterval(waiting);
        waiting = undefined;
        io.stdin.resume();
      }, EXEC_INPUT_RECHECK_MS);
    };
    io.stdin.on('data', onInput);
    return new Promise<number>((resolve, reject) => {
      // Without the closing handshake: a paused socket (a reader that does not keep up) or one
      // with a long input queue would not finish it, and the library then waits 30 s to give up.
      // addAbortListener also calls it for a signal aborted already (the caller left while the
      // exec was being opened), which a plain abort listener never hears.
      const listening = addAbortListener(signal, () => socket.terminate());
      socket.addEventListener('close', () => {
        listening[Symbol.dispose]();
        io.stdin.off('data', onInput);
        clearInterval(waiting);
        if (signal.aborted) return reject(signal.reason);
        // The exit code goes out after the output the sinks still hold for a slow reader.
        const flushed = [stdout, stderr].map((sink) => {
          if (!sink.writableEnded) sink.end();
          return finished(sink);
        });
        Promise.all(flushed).then(() => {
          if (signal.aborted) return reject(signal.reason);
          const code = status && execExitCode(status);
          if (code !== undefined) return resolve(code);
          reject(new Error(`Kubernetes: ${what} ended without an exit code${status?.message ? `: ${status.message}` : ''}`));
        }, reject);
      });
    });
  }

  /**
   * GET `path` from a pod's port through the API server's pod proxy (what `kubectl get --raw
   * /api/v1/namespaces/NS/pods/POD:PORT/proxy/PATH` does): the status and up to `maxBytes` of the
   * body, or `error` when the API server could not reach the pod (its 502/503 Status says why) or
   * the answer took longer than `timeoutMs`.
   */
  async proxyGet(namespace: string, pod: string, port: number, path: string, opts: { timeoutMs: number; maxBytes: number }): Promise<{ status: number; body: string } | { error: string }> {
    return this.rawGet(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${port}/proxy${path}`, opts);
  }

  /**
   * GET a path of the API server as the kubeconfig's user (`kubectl get --raw PATH`): the status
   * and up to `maxBytes` of the body, or `error` when a proxy path could not reach its backend or
   * the answer took longer than `timeoutMs`.
   */
  async rawGet(path: string, opts: { timeoutMs: number; maxBytes: number }): Promise<{ status: number; body: string } | { error: string }> {
    const url = new URL(`${this.server.replace(/\/+$/, '')}${path}`);
    const options: RequestOptions = { method: 'GET', headers: {} };
    await this.#kc.applyToHTTPSOptions(options as never);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const late = `no answer within ${opts.timeoutMs / 1000} s`;
    return new Promise((resolve) => {
      const req = send(url, { ...options, signal }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= opts.maxBytes) res.destroy();
        });
        const done = () => {
          if (signal.aborted && !res.complete) return resolve({ error: late });
          const body = Buffer.concat(chunks).subarray(0, opts.maxBytes).toString('utf8');
          const status = res.statusCode ?? 0;
          const reached = (status === 502 || status === 503) && proxyFailure(res, body);
          resolve(reached ? { error: reached } : { status, body });
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      });
      req.on('error', (err: Error) => {
        resolve({ error: signal.aborted ? late : `the Kubernetes API could not be asked (${err.message})` });
      });
      req.end();
    });
  }
}

/** The API server's own reason when its proxy could not reach a pod (a Status object), else null (the pod's own 502/503). */
function proxyFailure(res: IncomingMessage, body: string): string | null {
  if (!/json/.test(String(res.headers['content-type'] ?? ''))) return null;
  try {
    const s = JSON.parse(body) as { kind?: unknown; message?: unknown };
    if (s.kind !== 'Status' || typeof s.message !== 'string') return null;
    // "error trying to reach service: dial tcp 10.42.0.7:5000: connect: connection refused"
    return s.message.replace(/^error trying to reach service: /, '');
  } catch {
    return null;
  }
}
