import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Config, RegistryAuth } from '../config.ts';
import { UserError } from '../errors.ts';
import { run } from '../exec.ts';
import type { Builder, BuildRequest, BuildResult } from './builder.ts';
import { inspectImage, processesFromLabel } from './image.ts';
import { BuildLog } from './build-log.ts';
import { ensureCacheVolume, ownedCacheApps, pruneDanglingImages, removeVolume, volumeBytes } from './caches.ts';

/** What the pack builder needs from the server's config. */
export interface PackSettings {
  packBinary: string;
  registry: string;
  buildTimeoutMs: number;
  /** The build engine (DOCKER_HOST) pack builds on, for the cache volumes Slipway manages itself. */
  dockerHost: string;
  /** Who owns the cache volumes this builder makes (the data dir), so GC only removes its own; unset, pack makes them unlabelled and GC never removes any. */
  owner?: string;
  /** The registry's credential: pack gets it in a Docker config of its own, made for each build. */
  registryAuth?: Readonly<RegistryAuth>;
  /** The server's own variables pack runs with (Config.packEnv); an app's config is never added to them. */
  env: Readonly<Record<string, string>>;
}

/** The pack builder's settings from the server's config. */
export function packSettings(config: Readonly<Config>, packBinary: string, owner?: string): PackSettings {
  return { packBinary, registry: config.registry, buildTimeoutMs: config.buildTimeoutMs, dockerHost: config.dockerHost, owner, registryAuth: config.registryAuth, env: config.packEnv };
}

/** Where an app's images live: `REGISTRY/slipway/APP`. */
export function imageRepository(registry: string, app: string): string {
  return `${registry}/slipway/${app}`;
}

/** The per-app build cache volume; named explicitly so every release tag shares one warm cache. */
export function cacheVolume(app: string): string {
  return `slipway-cache-${app}`;
}

/** The files one build hands pack, in a directory only the server may read. */
export interface BuildFiles {
  /** Where pack writes report.toml (the image digest). */
  reportDir: string;
  /** The app's config as `KEY=VALUE` lines (0600), pack's --env-file. */
  envFile: string;
}

/**
 * pack's arguments for one build. Config values never appear here (not visible in `ps`) nor in
 * pack's own environment (where DOCKER_HOST and the like would steer pack itself): they reach the
 * build only through the env file.
 */
export function packArgs(req: Pick<BuildRequest, 'app' | 'source' | 'builderImage' | 'tag'>, s: Pick<PackSettings, 'registry'>, files: BuildFiles): string[] {
  const repo = imageRepository(s.registry, req.app);
  const args = [
    'build', `${repo}:latest`,
    '--path', req.source,
    '--builder', req.builderImage,
    '--tag', `${repo}:${req.tag}`,
    '--publish',
    '--trust-builder',
    '--pull-policy', 'if-not-present',
    '--default-process', 'web',
    '--cache', `type=build;format=volume;name=${cacheVolume(req.app)}`,
    // The lifecycle container must reach a registry on the host's loopback, as the host does.
    '--network', 'host',
    '--report-output-dir', files.reportDir,
    '--env-file', files.envFile,
    '--timestamps',
  ];
  if (isLoopback(s.registry)) args.push('--insecure-registry', s.registry);
  return args;
}

/** pack's whole environment: the server's allowed variables, its build engine, and a Docker config of this build's own. */
export function packEnvironment(s: Pick<PackSettings, 'env' | 'dockerHost'>, dockerConfigDir: string): Record<string, string> {
  return { ...s.env, DOCKER_HOST: s.dockerHost, DOCKER_CONFIG: dockerConfigDir };
}

/** The Docker config.json pack reads the registry's credential from (no other registry, no context, no helper). */
export function dockerConfigJson(registry: string, auth: Readonly<RegistryAuth> | undefined): string {
  const auths = auth ? { [registry]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } } : {};
  return JSON.stringify({ auths }) + '\n';
}

// pack reads its env file line by line and trims each line with Go's strings.TrimSpace; this is
// that set of white space (plus U+FEFF, which JavaScript's trim also strips).
const SPACE = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff`;
const EDGE_SPACE = new RegExp(`^[${SPACE}]|[${SPACE}]$`);
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * pack's --env-file text for an app's config, and the keys it cannot carry as they are: a value
 * with a line break, or with white space at either end (pack would cut it), stays out of the
 * build (the app still gets it when it runs).
 */
export function envFileText(env: Readonly<Record<string, string>>): { text: string; left: string[] } {
  const lines: string[] = [];
  const left: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_KEY.test(key) || value.includes('\n') || EDGE_SPACE.test(value)) left.push(key);
    else lines.push(`${key}=${value}\n`);
  }
  return { text: lines.join(''), left };
}

function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}

/** pack's `--timestamps` prefix, kept in the build log and dropped from the push transcript. */
const TIMESTAMP = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d+ /;
/** Warnings about this platform's own setup that a pusher can do nothing about. */
const NOISE = [/Detected pack is running in a container/, /Did not find SBOM /];

/** How one line of pack output appears in the push: undefined to leave it to the build log. */
export function transcriptLine(raw: string): { text: string; raw: boolean } | undefined {
  const line = raw.replace(TIMESTAMP, '');
  if (NOISE.some((n) => n.test(line))) return undefined;
  // Buildpacks speak the Heroku vocabulary themselves: their steps and details pass through as is.
  if (/^(-----> | {7}| ! {5})/.test(line)) return { text: line, raw: true };
  return { text: line, raw: false };
}

/** Turns pack's last output lines into the one sentence the pusher sees. */
export function explainFailure(rawLines: readonly string[], exitCode: number, ctx: { registry: string; minutes: number; stopped?: 'canceled' | 'timeout' }): string {
  const lines = rawLines.map((l) => l.replace(TIMESTAMP, ''));
  const text = lines.join('\n');
  if (ctx.stopped === 'timeout') return `The build took longer than ${ctx.minutes} minutes and was stopped.`;
  if (/No buildpack groups passed detection/i.test(text)) {
    const tried = [...new Set(lines.map((l) => /^fail: (\S+?)(@\S+)?$/.exec(l.trim())?.[1]).filter((b): b is string => b !== undefined))];
    // The offline builder's detect scripts print what they looked for; the lifecycle shows that
    // output when no group passes. Other builders' reasons stay pack's own.
    const lookedFor = [...new Set(lines.map((l) => /^looked for (.+)$/.exec(l.trim())?.[1]).filter((f): f is string => f !== undefined))];
    const why = lookedFor.length ? `looked for ${lookedFor.join('; ')}` : 'pack says "No buildpack groups passed detection"';
    return `No buildpack detected this app${tried.length ? ` (tried ${tried.join(', ')})` : ''}: ${why}.`;
  }
  const builder = /failed to fetch builder image '([^']+)'/.exec(text);
  if (builder) return `The builder image ${builder[1]} could not be fetched (check builder:set and the registry); nothing was built.`;
  if (/Cannot connect to the Docker daemon|failed to connect to docker|docker client/i.test(text)) {
    return 'The Docker engine is not reachable (check DOCKER_HOST and that dockerd runs); nothing was built.';
  }
  const escaped = ctx.registry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (new RegExp(`${escaped}.*(connection refused|no such host|i/o timeout)`, 'i').test(text)) {
    return `The registry ${ctx.registry} is not reachable; the image could not be published.`;
  }
  // A closed registry answers a wrong or missing credential with 401, which pack reports as an
  // image that "does not exist in registry" (or, when pushing, as UNAUTHORIZED).
  if (new RegExp(`'${escaped}/[^']*' does not exist in registry|UNAUTHORIZED|authentication required`, 'i').test(text)) {
    return `The registry ${ctx.registry} refused the build's requests or lacks one of its images (an admin can check with doctor: the credential is SLIPWAY_REGISTRY_AUTH_FILE); nothing was published.`;
  }
  // A buildpack that failed says why in the Heroku vocabulary: ` !     reason`.
  const said = lines.findLast((l) => /^ ! {5}\S/.test(l));
  if (said) return `The build failed: ${said.slice(7).trim()}`;
  const npm = lines.find((l) => /npm (ci|install) failed|npm ERR!|npm error/i.test(l));
  if (npm) return `The build failed: ${npm.replace(/^.*?(npm)/i, '$1').trim()} (see the build output above).`;
  return `The build failed (pack exited with ${exitCode}); the output above says why.`;
}

/** Builds with `pack` and Cloud Native Buildpacks; publishes straight to the registry. */
export class PackBuilder implements Builder {
  readonly name = 'pack';
  readonly settings: PackSettings;
  constructor(settings: PackSettings) {
    this.settings = settings;
  }

  async purgeCache(app: string): Promise<void> {
    await removeVolume(this.settings.dockerHost, cacheVolume(app));
  }

  async cachedApps(): Promise<string[]> {
    return this.settings.owner === undefined ? [] : ownedCacheApps(this.settings.dockerHost, this.settings.owner);
  }

  cacheBytes(app: string): Promise<number | undefined> {
    return volumeBytes(this.settings.dockerHost, cacheVolume(app));
  }

  pruneImages(): Promise<number> {
    return pruneDanglingImages(this.settings.dockerHost);
  }

  async build(req: BuildRequest): Promise<BuildResult> {
    const s = this.settings;
    // Private to this build (mkdtemp makes it 0700): the app's config and the registry's
    // credential are written here and removed with it.
    const work = await mkdtemp(join(tmpdir(), 'slipway-pack-'));
    const files: BuildFiles = { reportDir: join(work, 'report'), envFile: join(work, 'env') };
    const dockerConfig = join(work, 'docker');
    const logStream = new BuildLog(req.logFile, req.maxLogBytes ?? Infinity);
    const tail: string[] = [];
    try {
      const { text, left } = envFileText(req.env);
      await writeFile(files.envFile, text, { mode: 0o600 });
      await mkdir(files.reportDir, { mode: 0o700 });
      await mkdir(dockerConfig, { mode: 0o700 });
      await writeFile(join(dockerConfig, 'config.json'), dockerConfigJson(s.registry, s.registryAuth), { mode: 0o600 });
      for (const key of left) req.transcript.warn(`${key} is left out of the build: its value has a line break or spaces at an end, which pack's env file cannot carry (the app still gets it when it runs)`);
      // pack would create the volume itself; made here first, it carries who owns it.
      if (s.owner !== undefined) await ensureCacheVolume(s.dockerHost, cacheVolume(req.app), req.app, s.owner);
      const r = await run(s.packBinary, packArgs(req, s, files), {
        // Exactly this environment, nothing inherited: not the server's, never the app's.
        env: packEnvironment(s, dockerConfig),
        extendEnv: false,
        signal: req.signal,
        timeoutMs: s.buildTimeoutMs,
        killTree: true,
        onLine: (line) => {
          logStream.line(line);
          tail.push(line);
          if (tail.length > 60) tail.shift();
          const shown = transcriptLine(line);
          if (shown?.raw) req.transcript.raw(shown.text);
          else if (shown) req.transcript.detail(shown.text);
        },
      }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new UserError(`pack is not installed (looked for "${s.packBinary}"); install it or run "npm run testbed".`, { cause: err });
        }
        throw err;
      });
      if (r.stopped === 'canceled') throw new UserError('The build was cancelled.');
      if (r.exitCode !== 0) {
        throw new UserError(explainFailure(tail, r.exitCode, { registry: s.registry, minutes: Math.round(s.buildTimeoutMs / 60000), stopped: r.stopped }));
      }
      const report = await readFile(join(files.reportDir, 'report.toml'), 'utf8');
      const digest = /digest\s*=\s*"(sha256:[0-9a-f]{64})"/.exec(report)?.[1];
      if (!digest) throw new Error('pack succeeded but its report names no image digest');
      const repo = imageRepository(s.registry, req.app);
      const image = `${repo}@${digest}`;
      const { labels } = await inspectImage(image, s.registryAuth).catch((err: unknown) => {
        throw new UserError(`The image was built but could not be read back from ${s.registry}.`, { cause: err });
      });
      const processes = processesFromLabel(labels['io.buildpacks.build.metadata']);
      if (processes.length === 0) throw new UserError('The image declares no processes: add a Procfile or a start script.');
      return { image, digest, processes };
    } finally {
      await logStream.end();
      await rm(work, { recursive: true, force: true });
    }
  }
}
