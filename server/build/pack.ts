import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
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
}

/** Where an app's images live: `REGISTRY/slipway/APP`. */
export function imageRepository(registry: string, app: string): string {
  return `${registry}/slipway/${app}`;
}

/** The per-app build cache volume; named explicitly so every release tag shares one warm cache. */
export function cacheVolume(app: string): string {
  return `slipway-cache-${app}`;
}

/**
 * pack's arguments for one build. Config values never appear here: each is passed as a bare
 * `--env KEY`, which pack fills from its own environment (values are not visible in `ps`).
 */
export function packArgs(req: Pick<BuildRequest, 'app' | 'source' | 'builderImage' | 'tag' | 'env'>, s: Pick<PackSettings, 'registry'>, reportDir: string): string[] {
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
    '--report-output-dir', reportDir,
    '--timestamps',
  ];
  if (isLoopback(s.registry)) args.push('--insecure-registry', s.registry);
  for (const key of Object.keys(req.env)) args.push('--env', key);
  return args;
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
  if (new RegExp(`${ctx.registry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(connection refused|no such host|i/o timeout)`, 'i').test(text)) {
    return `The registry ${ctx.registry} is not reachable; the image could not be published.`;
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
    const reportDir = await mkdtemp(join(tmpdir(), 'slipway-report-'));
    const logStream = new BuildLog(req.logFile, req.maxLogBytes ?? Infinity);
    const tail: string[] = [];
    try {
      // pack would create the volume itself; made here first, it carries who owns it.
      if (s.owner !== undefined) await ensureCacheVolume(s.dockerHost, cacheVolume(req.app), req.app, s.owner);
      const r = await run(s.packBinary, packArgs(req, s, reportDir), {
        // Values for the bare `--env KEY` flags; this environment is pack's alone.
        env: req.env,
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
      const report = await readFile(join(reportDir, 'report.toml'), 'utf8');
      const digest = /digest\s*=\s*"(sha256:[0-9a-f]{64})"/.exec(report)?.[1];
      if (!digest) throw new Error('pack succeeded but its report names no image digest');
      const repo = imageRepository(s.registry, req.app);
      const image = `${repo}@${digest}`;
      const { labels } = await inspectImage(image).catch((err: unknown) => {
        throw new UserError(`The image was built but could not be read back from ${s.registry}.`, { cause: err });
      });
      const processes = processesFromLabel(labels['io.buildpacks.build.metadata']);
      if (processes.length === 0) throw new UserError('The image declares no processes: add a Procfile or a start script.');
      return { image, digest, processes };
    } finally {
      await logStream.end();
      await rm(reportDir, { recursive: true, force: true });
    }
  }
}
