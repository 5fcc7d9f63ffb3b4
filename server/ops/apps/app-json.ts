// What Slipway reads from a pushed app.json, in the shape Dokku and Heroku document: `healthchecks`
// (Dokku's), `formation` and `env` (both). The file is JSON with comments and trailing commas, as
// Dokku reads it. Each section has its own small parser, validated here, at the edge, with one
// sentence naming the bad field; keys Slipway does not use (name, description, repository,
// keywords, addons, buildpacks, stack, scripts…) are accepted and ignored.
import { UserError } from '../../errors.ts';
import { configKey, configValue, shown } from '../../names.ts';
import { JsoncSyntaxError, parseJsonc } from '../../jsonc.ts';
import type { CheckType, CronTask, HealthCheck, HealthChecks } from '../../model.ts';
import { checkCount } from '../processes/ps.ts';
import { parseCron } from '../cron/cron-spec.ts';

const TYPES: readonly CheckType[] = ['startup', 'liveness', 'readiness'];
const PROCESS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PATH = /^\/[\x21-\x7e]{0,1023}$/;
/** Longest `content` a check may look for in a response body. */
export const MAX_CHECK_CONTENT = 1024;

/** One process type's entry of `formation`: its initial count, and the Heroku dyno size if given. */
export interface FormationEntry {
  quantity?: number;
  /** Heroku's dyno size (`standard-1x`); Slipway does not map it (resource:limit sets memory and CPU). */
  size?: string;
}

/** One variable of `env`: a default value, a generator, or a value the app requires. */
export interface EnvEntry {
  value?: string;
  /** Only `secret` (Heroku's and Dokku's one generator): 64 random hex characters. */
  generator?: 'secret';
  /** Whether the push needs a value (default true, as Heroku and Dokku read it). */
  required: boolean;
}

/** A parsed app.json: one field per section Slipway reads. */
export interface AppJson {
  checks: HealthChecks;
  formation: Record<string, FormationEntry>;
  env: Record<string, EnvEntry>;
  cron: CronTask[];
}

/** Sets a key as an own property, `__proto__` included (a valid config key), where assignment would swap the prototype. */
export function putOwn<T>(out: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function isObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw);
}

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

function checkContent(raw: unknown, where: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_CHECK_CONTENT || raw.includes('\0')) {
    throw new UserError(`${where}: content must be text of 1 to ${MAX_CHECK_CONTENT} characters that the response body contains.`);
  }
  return raw;
}

/** One health check, validated; `where` names it in the error (`app.json healthchecks.web[0]`). */
export function healthCheck(raw: unknown, where: string): HealthCheck {
  if (!isObject(raw)) throw new UserError(`${where} must be an object.`);
  // Dokku's command checks run a program in the container; an HTTP check on / in their place
  // would test something else, so they are refused rather than changed.
  if (raw.command !== undefined) throw new UserError(`${where}: command checks are not supported; check over HTTP with path (and content) instead.`);
  const c: HealthCheck = { type: checkType(raw.type ?? 'readiness', where), path: checkPath(raw.path ?? '/', where) };
  const optional = {
    port: int(raw.port, where, 'port', 1, 65535),
    initialDelay: int(raw.initialDelay, where, 'initialDelay', 0, 3600),
    timeout: int(raw.timeout, where, 'timeout', 1, 600),
    attempts: int(raw.attempts, where, 'attempts', 1, 100),
    wait: int(raw.wait, where, 'wait', 1, 600),
    content: checkContent(raw.content, where),
  };
  return { ...c, ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) };
}

/** `healthchecks`: checks by process type, at most one of each kind, a port for any type but web. */
export function parseHealthchecks(raw: unknown): HealthChecks {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new UserError('Push rejected: app.json healthchecks must map process types to lists of checks.');
  const checks: Record<string, HealthCheck[]> = {};
  for (const [type, list] of Object.entries(raw)) {
    if (!PROCESS.test(type)) throw new UserError(`Push rejected: app.json healthchecks names ${shown(type)}, which is not a process type.`);
    if (!Array.isArray(list)) throw new UserError(`Push rejected: app.json healthchecks.${type} must be a list of checks.`);
    const parsed = list.map((c, i) => healthCheck(c, `Push rejected: app.json healthchecks.${type}[${i}]`));
    for (const t of TYPES) if (parsed.filter((c) => c.type === t).length > 1) throw new UserError(`Push rejected: app.json healthchecks.${type} has more than one ${t} check.`);
    if (type !== 'web' && parsed.some((c) => c.port === undefined)) throw new UserError(`Push rejected: app.json healthchecks.${type}: a check of a process other than web needs a port.`);
    checks[type] = parsed;
  }
  return checks;
}

/**
 * `formation`: `{"worker": {"quantity": 1, "size": "standard-1x"}}`, counts bounded as ps:scale
 * bounds them. Dokku's `max_parallel`, `autoscaling` and `service` are not used and ignored.
 */
export function parseFormation(raw: unknown): Record<string, FormationEntry> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new UserError('Push rejected: app.json formation must map process types to objects such as {"quantity": 1}.');
  const out: Record<string, FormationEntry> = {};
  for (const [type, entry] of Object.entries(raw)) {
    const where = `Push rejected: app.json formation.${PROCESS.test(type) ? type : shown(type)}`;
    if (!PROCESS.test(type)) throw new UserError(`${where} is not a process type.`);
    if (!isObject(entry)) throw new UserError(`${where} must be an object such as {"quantity": 1}.`);
    const parsed: FormationEntry = {};
    if (entry.quantity !== undefined) {
      try {
        parsed.quantity = checkCount(type, entry.quantity);
      } catch (err) {
        throw new UserError(`${where}.quantity: ${(err as Error).message}`, { cause: err });
      }
    }
    if (entry.size !== undefined) {
      if (typeof entry.size !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(entry.size)) throw new UserError(`${where}.size must be a dyno size such as standard-1x.`);
      parsed.size = entry.size;
    }
    out[type] = parsed;
  }
  return out;
}

/**
 * `env`: each key a config key (config:set's rule); the value a string (Heroku's short form) or
 * `{"value", "generator": "secret", "required"}`. `description` is documentation; Dokku's `sync`
 * is not supported and ignored (a value set once is never overwritten).
 */
export function parseEnv(raw: unknown): Record<string, EnvEntry> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new UserError('Push rejected: app.json env must map config keys to values or objects such as {"value": "…"}.');
  const out: Record<string, EnvEntry> = {};
  for (const [rawKey, entry] of Object.entries(raw)) {
    let key: string;
    try {
      key = configKey(rawKey);
    } catch (err) {
      throw new UserError(`Push rejected: app.json env: ${(err as Error).message}`, { cause: err });
    }
    const where = `Push rejected: app.json env.${key}`;
    const valued = (v: unknown): string => {
      if (typeof v !== 'string') throw new UserError(`${where}: the value must be a string (write "2", not 2).`);
      try {
        return configValue(key, v);
      } catch (err) {
        throw new UserError(`${where}: ${(err as Error).message}`, { cause: err });
      }
    };
    if (typeof entry === 'string') {
      putOwn(out, key, { value: valued(entry), required: true });
      continue;
    }
    if (!isObject(entry)) throw new UserError(`${where} must be a string or an object such as {"value": "…"}.`);
    if (entry.required !== undefined && typeof entry.required !== 'boolean') throw new UserError(`${where}: required must be true or false.`);
    if (entry.generator !== undefined && entry.generator !== 'secret') throw new UserError(`${where}: the only generator is "secret", not ${shown(String(entry.generator))}.`);
    putOwn(out, key, {
      ...(entry.value !== undefined ? { value: valued(entry.value) } : {}),
      ...(entry.generator === 'secret' ? { generator: 'secret' as const } : {}),
      required: entry.required ?? true,
    });
  }
  return out;
}

/** The JSONC document of an app.json text: an object, or a UserError naming the line and column. */
function parseDocument(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseJsonc(text);
  } catch (err) {
    if (err instanceof JsoncSyntaxError) throw new UserError(`Push rejected: app.json line ${err.line}, column ${err.column}: ${err.problem}.`, { cause: err });
    throw err;
  }
  if (!isObject(doc)) throw new UserError('Push rejected: app.json must hold a JSON object.');
  return doc;
}

/** The sections Slipway reads from an app.json text (all empty when there is none); a UserError for anything malformed. */
export function parseAppJson(text: string | undefined): AppJson {
  const doc = text === undefined ? {} : parseDocument(text);
  return {
    checks: parseHealthchecks(doc.healthchecks),
    formation: parseFormation(doc.formation),
    env: parseEnv(doc.env),
    cron: parseCron(doc.cron),
  };
}
