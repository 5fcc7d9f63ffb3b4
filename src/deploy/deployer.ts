import type { ProcessType } from '../build/builder.ts';
import type { Transcript } from '../output/transcript.ts';

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
}

/** Runs releases on a cluster. */
export interface Deployer {
  readonly name: string;
  /** Applies the release and waits until it serves; throws (after restoring `previous`) if not. */
  deploy(release: DeployableRelease, opts: { previous?: DeployableRelease; transcript: Transcript; signal: AbortSignal }): Promise<void>;
  /** Removes everything the app runs. */
  destroy(app: string): Promise<void>;
}
