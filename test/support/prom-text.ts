// Reads a GET /metrics answer with the parser Prometheus itself uses (github.com/prometheus/common's
// expfmt, through test/tools/promparse): a line it cannot read fails the test, as it would fail a
// scrape. The tool is built once per version of its sources, into ~/.cache/slipway/bin.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const TOOL = resolve(import.meta.dirname, '..', 'tools', 'promparse');

/** One sample of a family: a value (counter, gauge), or a histogram's count, sum and cumulative buckets by upper bound. */
export interface Sample {
  labels: Record<string, string>;
  value?: string;
  count?: number;
  sum?: string;
  buckets?: Record<string, number>;
}

/** One metric family as Prometheus parsed it. */
export interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  samples: Sample[];
}

let built: string | undefined;

/** The parser's binary, built first when its sources changed (into a temporary name, then renamed: parallel test files may race). */
function parser(): string {
  if (built) return built;
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(TOOL, f)));
  const dir = join(homedir(), '.cache', 'slipway', 'bin');
  const bin = join(dir, `promparse-${hash.digest('hex').slice(0, 12)}`);
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.tmp-${process.pid}`;
    try {
      execFileSync('go', ['build', '-trimpath', '-o', tmp, '.'], { cwd: TOOL, env: { ...process.env, CGO_ENABLED: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(tmp, bin);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new Error(`could not build test/tools/promparse (needs Go and the Go module proxy): ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`, { cause: err });
    }
  }
  return (built = bin);
}

/** The families of an exposition, by name; throws with the parser's sentence when the text is not valid. */
export function parseExposition(text: string): Map<string, Family> {
  let out: string;
  try {
    out = execFileSync(parser(), [], { input: text, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`not Prometheus's text format: ${stderr || err}`, { cause: err });
  }
  return new Map((JSON.parse(out) as Family[]).map((f) => [f.name, f]));
}

/** The sample of a family whose labels include `labels`. */
export function sampleOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample | undefined {
  return families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of that sample (a histogram's count); 0 when there is none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const s = sampleOf(families, name, labels);
  if (!s) return 0;
  return s.buckets ? s.count ?? 0 : Number(s.value);
}

/** How a test asks for GET /metrics: its token, the local address it comes from (127.0.0.1), the method and other headers. */
export interface ScrapeOptions {
  token?: string;
  localAddress?: string;
  method?: string;
  headers?: Record<string, string>;
}

/** How long a scrape may wait for its answer. */
const SCRAPE_TIMEOUT_MS = 30_000;

/** GET /metrics of the server on 127.0.0.1:`port`: the status, content type and body. */
export function scrapeMetrics(port: number, opts: ScrapeOptions = {}): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    // A connection of its own (no agent): a kept-alive one the server closes after its idle time
    // while the next scrape is written would reset it (a starved process can take that long between two).
    const req = request({
      host: '127.0.0.1', port, path: '/metrics', method: opts.method ?? 'GET', localAddress: opts.localAddress ?? '127.0.0.1', agent: false,
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), text }));
    });
    // A server that never answers fails the scrape with a sentence, not the suite with its timeout.
    req.setTimeout(SCRAPE_TIMEOUT_MS, () => req.destroy(new Error(`GET /metrics on port ${port} gave no answer within ${SCRAPE_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}
