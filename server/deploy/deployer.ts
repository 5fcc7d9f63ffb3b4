import type { ProcessType } from '../build/builder.ts';
import type { Transcript } from '../output/transcript.ts';
import type { TlsPlan } from './tls.ts';

/** A release as the deployer sees it: what to run, with which config, how many of each. */
export interface DeployableRelease {
  app: string;
  version: number;
  /** Image pinned by digest. */
  image: string;
  processes: ProcessType[];
  /** App config (secret values). Never logged, never in argv, never in annotations. */
  config: Readonly<Record<string, string>>;
  /** Desired replicas per process type; a type absent here runs 1 for `web`, 0 otherwise. */
  formation: Readonly<Record<string, number>>;
  /** Host names the web process answers on, the default one first. */
  domains: string[];
  /** What is served over HTTPS; absent, Slipway manages no TLS (no ACME email, nothing uploaded). */
  tls?: TlsPlan;
}

/** A host's certificate as `certs` shows it. */
export interface HostCert {
  host: string;
  state: 'issued' | 'pending' | 'failed' | 'none';
  /** issued: the issuer's name and the expiry; pending: what it waits for; failed: why (one sentence). */
  issuer?: string;
  notAfter?: string;
  detail?: string;
  source?: 'acme' | 'uploaded';
}

/** One running (or trying to run) instance of a process type, as `ps` shows it. */
export interface InstanceStatus {
  name: string;
  release: number | null;
  /** Running, Pending (why), CrashLoopBackOff (exit code 1), … */
  state: string;
  ready: boolean;
  restarts: number;
  startedAt: string | null;
}

/** What runs for one process type. */
export interface ProcessStatus {
  type: string;
  desired: number;
  ready: number;
  instances: InstanceStatus[];
}

/** Which log lines `logs` wants. */
export interface LogRequest {
  /** Only this process type. */
  process?: string;
  /** How many recent lines first (per app, merged by time). */
  lines: number;
  /** Keep streaming new lines (and new instances) until `signal` aborts. */
  follow: boolean;
  signal: AbortSignal;
}

/** Runs releases on a cluster. */
export interface Deployer {
  readonly name: string;
  /** Applies the release and waits until it serves; throws (after restoring `previous`) if not. */
  deploy(release: DeployableRelease, opts: { previous?: DeployableRelease; transcript: Transcript; signal: AbortSignal }): Promise<void>;
  /** Removes everything the app runs. */
  destroy(app: string): Promise<void>;
  /** What runs now, per process type. */
  status(app: string): Promise<ProcessStatus[]>;
  /** Replaces the instances of one process type (or all) with fresh ones, without a new release. */
  restart(app: string, opts: { process?: string; transcript: Transcript; signal: AbortSignal }): Promise<void>;
  /** Writes the app's log lines (`TIME app[PROCESS.ID]: text`) as they come. */
  logs(app: string, req: LogRequest, write: (line: string) => void): Promise<void>;
  /** The certificate of each host of the release (none where it has no TLS). */
  certificates?(release: DeployableRelease): Promise<HostCert[]>;
  /** Applies the Ingresses again if a certificate arrived or left since (the redirect follows); true if it did. */
  refreshTls?(release: DeployableRelease): Promise<boolean>;
}
