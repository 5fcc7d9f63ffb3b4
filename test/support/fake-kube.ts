// A fake of Slipway's own Kubernetes client (server/kube/client.ts) for integration tests of the
// deployer and its read cache: objects kept in memory by kind, namespace and name, each write
// given the next resourceVersion and reported to onWrite listeners as the real client does, label
// selectors (k=v, k!=v, k, !k), and watches whose events the test holds back and lets go, to
// prove what a read shows before the watch brings a change.
import type { KubeClient, WatchEvent, Written } from '../../server/kube/client.ts';

interface Obj { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown }

/** Whether `labels` match a label selector string. */
function matches(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').filter(Boolean).every((term) => {
    const l = labels ?? {};
    const ne = /^([^!=]+)!=(.*)$/.exec(term);
    if (ne) return l[ne[1]!] !== ne[2];
    const eq = /^([^!=]+)==?(.*)$/.exec(term);
    if (eq) return l[eq[1]!] === eq[2];
    if (term.startsWith('!')) return !(term.slice(1) in l);
    return term in l;
  });
}

/** A watch the test drives. */
interface Watching { apiVersion: string; kind: string; labelSelector: string | undefined; onEvent: (e: WatchEvent<unknown>) => void; signal: AbortSignal }

/** The in-memory cluster (see the file's comment). */
export class FakeKube {
  readonly objects = new Map<string, Obj>();
  version = 100;
  /** While true, watch events wait in `held` until release(). */
  holding = false;
  readonly held: (() => void)[] = [];
  readonly #watches: Watching[] = [];
  readonly #writes: ((w: Written) => void)[] = [];
  /** Requests by method name, as the cache and deployer made them. */
  readonly calls = new Map<string, number>();

  /** This fake as the client type the deployer takes. */
  get client(): KubeClient {
    return this as unknown as KubeClient;
  }

  #count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }

  #key(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
    return `${apiVersion}|${kind}|${namespace ?? ''}|${name}`;
  }

  #emit(type: WatchEvent<unknown>['type'], o: Obj): void {
    for (const w of this.#watches) {
      if (w.signal.aborted || w.apiVersion !== o.apiVersion || w.kind !== o.kind || !matches(o.metadata.labels, w.labelSelector)) continue;
      const deliver = () => w.onEvent({ type, object: structuredClone(o) });
      if (this.holding) this.held.push(deliver);
      else deliver();
    }
  }

  /** Lets every held watch event through, in order. */
  release(): void {
    this.holding = false;
    for (const d of this.held.splice(0)) d();
  }

  /** A change made by someone else (a controller, kubectl): stored and watched, never reported as our write. */
  put(o: Obj, type: 'ADDED' | 'MODIFIED' = 'MODIFIED'): Obj {
    const stored = { ...structuredClone(o), metadata: { ...structuredClone(o.metadata), resourceVersion: String(++this.version) } };
    this.objects.set(this.#key(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name), stored);
    this.#emit(type, stored);
    return stored;
  }

  onWrite(listener: (w: Written) => void): void {
    this.#writes.push(listener);
  }

  async apply<T>(obj: T): Promise<T> {
    this.#count('apply');
    const o = obj as unknown as Obj;
    const existing = this.objects.get(this.#key(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name));
    const stored = this.put({ ...existing, ...structuredClone(o), metadata: { ...existing?.metadata, ...structuredClone(o.metadata) } }, existing ? 'MODIFIED' : 'ADDED');
    for (const l of this.#writes) l({ op: 'applied', apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, object: structuredClone(stored) });
    return structuredClone(stored) as unknown as T;
  }

  async list<T>(apiVersion: string, kind: string, namespace: string | undefined, opts: { labelSelector?: string } = {}): Promise<T[]> {
    this.#count(`list ${kind}`);
    return [...this.objects.values()]
      .filter((o) => o.apiVersion === apiVersion && o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace) && matches(o.metadata.labels, opts.labelSelector))
      .map((o) => structuredClone(o) as unknown as T);
  }

  async listVersioned<T>(apiVersion: string, kind: string, namespace: string | undefined, opts: { labelSelector?: string } = {}): Promise<{ items: T[]; resourceVersion: string }> {
    return { items: await this.list<T>(apiVersion, kind, namespace, opts), resourceVersion: String(this.version) };
  }

  watch<T>(apiVersion: string, kind: string, _namespace: string | undefined, opts: { labelSelector?: string; signal: AbortSignal }, onEvent: (e: WatchEvent<T>) => void): Promise<void> {
    this.#count(`watch ${kind}`);
    this.#watches.push({ apiVersion, kind, labelSelector: opts.labelSelector, onEvent: onEvent as (e: WatchEvent<unknown>) => void, signal: opts.signal });
    return new Promise((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  async read<T>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    this.#count(`read ${kind}`);
    const o = this.objects.get(this.#key(apiVersion, kind, namespace, name));
    return o ? structuredClone(o) as unknown as T : undefined;
  }

  async remove(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
    this.#count('remove');
    const key = this.#key(apiVersion, kind, namespace, name);
    const o = this.objects.get(key);
    if (!o) return false;
    this.objects.delete(key);
    this.#emit('DELETED', { ...o, metadata: { ...o.metadata, resourceVersion: String(++this.version) } });
    for (const l of this.#writes) l({ op: 'removed', apiVersion, kind, namespace, name });
    return true;
  }
}
