// What Slipway reads from a pushed app.json: health checks, in the shape Dokku documents
// (`{"healthchecks": {"web": [{"type": "readiness", "path": "/healthz", ...}]}}`). Everything is
// validated here, at the edge, with one sentence naming the bad field.
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import type { CheckType, HealthCheck, HealthChecks } from '../deploy/deployer.ts';

const TYPES: readonly CheckType[] = ['startup', 'liveness', 'readiness'];
const PROCESS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PATH = /^\/[\x21-\x7e]{0,1023}$/;

function int(raw: unknown, where: string, field: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) throw new UserError(`${where}: ${field} must be a whole number from ${min} to ${max}.`);
  return raw;
}

/** Validates the check type word of checks:set and app.json. */
export function checkType(raw: unknown, where: string): CheckType {
  if (typeof raw !== 'string' || !TYPES.includes(raw as CheckType)) throw new UserError(`${where}: the check type must be startup, liveness or readiness, not ${shown(String(raw))}.`);
  return raw as CheckType;
}

/** Validates an HTTP path to probe. */
export function checkPath(raw: unknown, where: string): string {
  if (typeof raw !== 'string' || !PATH.test(raw)) throw new UserError(`${where}: the path must start with / and hold no spaces or control characters${typeof raw === 'string' ? ` (${shown(raw)})` : ''}.`);
  return raw;
}

/** One health check, validated; `where` names it in the error (`app.json healthchecks.web[0]`). */
export function healthCheck(raw: unknown, where: string): HealthCheck {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError(`${where} must be an object.`);
  const r = raw as Record<string, unknown>;
  const c: HealthCheck = { type: checkType(r.type ?? 'readiness', where), path: checkPath(r.path ?? '/', where) };
  const port = int(r.port, where, 'port', 1, 65535);
  const initialDelay = int(r.initialDelay, where, 'initialDelay', 0, 3600);
  const timeout = int(r.timeout, where, 'timeout', 1, 600);
  const attempts = int(r.attempts, where, 'attempts', 1, 100);
  const wait = int(r.wait, where, 'wait', 1, 600);
  return {
    ...c,
    ...(port !== undefined ? { port } : {}),
    ...(initialDelay !== undefined ? { initialDelay } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(attempts !== undefined ? { attempts } : {}),
    ...(wait !== undefined ? { wait } : {}),
  };
}

/** The `healthchecks` of an app.json text (none when absent); a UserError for anything malformed. */
export function parseAppJson(text: string | undefined): { checks: HealthChecks } {
  if (text === undefined) return { checks: {} };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UserError(`Push rejected: app.json is not valid JSON (${(err as Error).message}).`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UserError('Push rejected: app.json must hold a JSON object.');
  const hc = (doc as Record<string, unknown>).healthchecks;
  if (hc === undefined) return { checks: {} };
  if (typeof hc !== 'object' || hc === null || Array.isArray(hc)) throw new UserError('Push rejected: app.json healthchecks must map process types to lists of checks.');
  const checks: Record<string, HealthCheck[]> = {};
  for (const [type, list] of Object.entries(hc)) {
    if (!PROCESS.test(type)) throw new UserError(`Push rejected: app.json healthchecks names ${shown(type)}, which is not a process type.`);
    if (!Array.isArray(list)) throw new UserError(`Push rejected: app.json healthchecks.${type} must be a list of checks.`);
    const parsed = list.map((c, i) => healthCheck(c, `Push rejected: app.json healthchecks.${type}[${i}]`));
    for (const t of TYPES) if (parsed.filter((c) => c.type === t).length > 1) throw new UserError(`Push rejected: app.json healthchecks.${type} has more than one ${t} check.`);
    if (type !== 'web' && parsed.some((c) => c.port === undefined)) throw new UserError(`Push rejected: app.json healthchecks.${type}: a check of a process other than web needs a port.`);
    checks[type] = parsed;
  }
  return { checks };
}
