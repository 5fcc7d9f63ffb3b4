// The one module that talks to the Kubernetes API (@kubernetes/client-node lives only here, at
// run time). Every call goes through `call`, which turns the library's failures into one clear
// sentence for the user (API down, credentials refused, rights missing) and keeps the original
// as `cause`.
import { Writable } from 'node:stream';
import type { ProcessIo } from './deployer.ts';
import { ApiException, CoreV1Api, Exec, KubeConfig, KubernetesObjectApi, Log, PatchStrategy, type V1ObjectMeta, type V1Status } from '@kubernetes/client-node';
import { UserError } from '../errors.ts';
import { FIELD_MANAGER } from './labels.ts';
// The model types the pure modules name, through kube-types.ts.
export type {
  CoreV1Event, V1ConfigMap, V1Container, V1Deployment, V1Ingress, V1Namespace, V1ObjectMeta, V1EnvVar, V1LimitRange, V1Pod, V1Probe, V1ReplicaSet, V1ResourceQuota, V1ResourceRequirements, V1Secret, V1Service,
  V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1PodSecurityContext, V1PodSpec, V1SecurityContext,
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
}

/** The exit code an exec's final Status reports: 0 on Success, the ExitCode cause otherwise. */
export function execExitCode(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message !== undefined && /^\d+$/.test(cause.message) ? Number(cause.message) : undefined;
}

/**
 * A sink the library writes a stream of the exec to. With a terminal it also looks like one
 * (`columns`, `rows`, 'resize'): that is how the library learns to send window sizes.
 */
class Sink extends Writable {
  columns = 0;
  rows = 0;
  constructor(write: (chunk: Buffer) => void) {
    super({ write(chunk: Buffer, _encoding, callback) { write(chunk); callback(); } });
  }
}

/** A connection to one cluster, from a kubeconfig file. */
export class KubeClient {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #objects: KubernetesObjectApi;
  readonly #core: CoreV1Api;

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

  /** The log of a pod's container so far, each line prefixed with its RFC 3339 timestamp. */
  async podLog(namespace: string, pod: string, container: string, opts: PodLogOptions = {}): Promise<string> {
    return this.#call(`read the log of pod ${pod} in ${namespace}`, () =>
      this.#core.readNamespacedPodLog({ name: pod, namespace, container, tailLines: opts.tailLines, previous: opts.previous, timestamps: true }));
  }

  /**
   * Streams a container's log (timestamped lines) to `onLine` until the container's log ends or
   * `signal` aborts; resolves then.
   */
  async followPodLog(namespace: string, pod: string, container: string, opts: PodLogOptions & { signal: AbortSignal }, onLine: (line: string) => void): Promise<void> {
    if (opts.signal.aborted) return;
    let partial = '';
    let finish!: () => void;
    let fail!: (err: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => { finish = resolve; fail = reject; });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        partial += chunk.toString('utf8');
        for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
          onLine(partial.slice(0, nl));
          partial = partial.slice(nl + 1);
        }
        callback();
      },
      final(callback) {
        if (partial) onLine(partial);
        callback();
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
    const stdout = new Sink(io.stdout);
    const stderr = new Sink(io.stderr);
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
    const ws = await this.#call(what, () => new Exec(this.#kc).exec(namespace, pod, container, command, stdout, term ? null : stderr, io.stdin, term !== undefined, (s) => { status = s; }));
    return new Promise<number>((resolve, reject) => {
      const stop = () => ws.close();
      signal.addEventListener('abort', stop, { once: true });
      ws.addEventListener('close', () => {
        signal.removeEventListener('abort', stop);
        if (signal.aborted) return reject(signal.reason);
        const code = status && execExitCode(status);
        if (code !== undefined) return resolve(code);
        reject(new Error(`Kubernetes: ${what} ended without an exit code${status?.message ? `: ${status.message}` : ''}`));
      });
    });
  }
}
