// The MCP server's tools, made from the server's OpenAPI document: this table chooses the
// operations an assistant gets and names them; each tool's description, inputs (path, query and
// body fields, with their JSON Schemas) and the scope it needs (`x-slipway-scope`) come from the
// document the server serves, so a tool follows its route. Pure: no network, no SDK.
import { seg } from '../http.ts';

/** A token's scope, weakest first, as the API says it (`GET /whoami`). */
export type Scope = 'read' | 'deploy' | 'admin';
const SCOPES: readonly Scope[] = ['read', 'deploy', 'admin'];

/** Whether a token with scope `have` may call an operation that needs `need`. */
export function allows(have: Scope, need: Scope): boolean {
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}

/** Whether `raw` names a scope. */
export function isScope(raw: unknown): raw is Scope {
  return (SCOPES as readonly unknown[]).includes(raw);
}

/** A JSON Schema, as the document writes one. */
export type JsonSchema = Record<string, unknown>;

/** One operation of the OpenAPI document, the parts a tool is made of. */
export interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: JsonSchema }[];
  requestBody?: { description?: string; content?: Record<string, { schema?: JsonSchema }> };
  'x-slipway-scope'?: string;
}

/** The OpenAPI document, the parts tools are made of. */
export interface OpenApiDocument { paths: Record<string, Record<string, Operation>> }

/** How the table declares a tool. */
export interface ToolSpec {
  name: string;
  /** The operation it calls (its operationId in the document). */
  op: string;
  title: string;
  /** Changes what cannot simply be put back: marked destructive, refused without `confirm` (the app's name). */
  destructive?: boolean;
  /** Calling it twice with the same arguments does no more than once (scale to 2, set a var). */
  idempotent?: boolean;
  /** Inputs of the operation the tool leaves out (`follow`: a tool answers once). */
  omit?: readonly string[];
  /** The input a body that is not an object of named fields (a formation, `{"web": 2}`) is given as. */
  bodyAs?: string;
  /** What the tool says instead of the operation's summary (when it leaves some of it out). */
  summary?: string;
  /** What the tool adds to the operation's summary. */
  note?: string;
}

/**
 * The tools, reads first. Names are the client's verbs (`ps:scale` → `ps_scale`). Destructive:
 * what stops the app or deletes something; a rollback, a rebuild or a scale can be undone by the
 * next one, so they are marked as changes but not as destructive.
 */
export const TOOL_SPECS: readonly ToolSpec[] = [
  { name: 'whoami', op: 'getWhoami', title: 'Who the token is' },
  { name: 'apps', op: 'getApps', title: 'List apps' },
  { name: 'apps_info', op: 'getAppsApp', title: 'App info' },
  { name: 'ps', op: 'getAppsAppProcesses', title: 'Process types and instances' },
  { name: 'ps_metrics', op: 'getAppsAppMetrics', title: 'CPU and memory', omit: ['follow'], summary: "CPU and memory of an app's pods by process type" },
  { name: 'logs', op: 'getAppsAppLogs', title: 'Recent log lines', omit: ['follow', 'process'], summary: "An app's recent log lines, as text" },
  { name: 'releases', op: 'getAppsAppReleases', title: 'List releases' },
  { name: 'releases_info', op: 'getAppsAppReleasesVersion', title: 'One release' },
  { name: 'jobs', op: 'getAppsAppJobs', title: "List an app's jobs" },
  { name: 'jobs_info', op: 'getJobsId', title: 'One job' },
  { name: 'jobs_output', op: 'getJobsIdOutput', title: "A job's transcript" },
  { name: 'config', op: 'getAppsAppConfig', title: 'Config var names', note: 'The values are given only to a token with the deploy or admin scope; a read token sees the names.' },
  { name: 'domains', op: 'getAppsAppDomains', title: 'Domains' },
  { name: 'builds', op: 'getAppsAppBuilds', title: 'List builds' },
  { name: 'builds_output', op: 'getAppsAppBuildsIdOutput', title: "A build's log" },
  { name: 'addons', op: 'getAppsAppAddons', title: 'Databases' },
  { name: 'cron', op: 'getAppsAppCron', title: 'Scheduled tasks' },
  { name: 'apps_rebuild', op: 'postAppsAppRebuild', title: 'Rebuild and deploy', note: 'Answers when the job ends (or with the job still running after 45 s: follow it with jobs_info).' },
  { name: 'rollback', op: 'postAppsAppRollback', title: 'Roll back', note: 'Answers when the job ends (or with the job still running after 45 s: follow it with jobs_info).' },
  { name: 'ps_scale', op: 'patchAppsAppFormation', title: 'Scale process types', idempotent: true, bodyAs: 'formation', note: 'Answers when the job ends.' },
  { name: 'ps_restart', op: 'postAppsAppRestart', title: 'Restart', note: 'Answers when the job ends.' },
  { name: 'ps_start', op: 'postAppsAppStart', title: 'Start processes', note: 'Answers when the job ends.' },
  { name: 'config_set', op: 'patchAppsAppConfig', title: 'Set config vars', idempotent: true, omit: ['unset'], summary: 'Set config vars; rolls out as a job when the app runs, else only stored', note: 'Answers when the job ends.' },
  { name: 'jobs_cancel', op: 'postJobsIdCancel', title: 'Cancel a job' },
  { name: 'domains_add', op: 'postAppsAppDomains', title: 'Add a domain', idempotent: true },
  { name: 'ps_stop', op: 'postAppsAppStop', title: 'Stop processes', destructive: true },
  { name: 'config_unset', op: 'patchAppsAppConfig', title: 'Unset config vars', destructive: true, omit: ['set'], summary: 'Remove config vars; rolls out as a job when the app runs, else only stored' },
  { name: 'domains_remove', op: 'deleteAppsAppDomainsHost', title: 'Remove a domain', destructive: true },
  { name: 'apps_destroy', op: 'deleteAppsApp', title: 'Destroy an app', destructive: true },
];

/** The input a destructive tool needs: the app's name, typed again. */
export const CONFIRM = 'confirm';

/** Where each input of a tool goes in the request. */
type Place = 'path' | 'query' | 'body' | 'whole-body' | 'confirm';

/** A tool as the MCP server lists and runs it. */
export interface McpTool {
  name: string;
  title: string;
  description: string;
  inputSchema: { type: 'object'; properties: Record<string, JsonSchema>; required: string[]; additionalProperties: false };
  annotations: { title: string; readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };
  method: string;
  /** The path under /api/v1, `{name}` for its parameters. */
  path: string;
  need: Scope;
  destructive: boolean;
  /** The config tool: values only for a token that may read them (`withheldFor`). */
  secretValues: boolean;
  places: Record<string, Place>;
  /** Query inputs the document takes as "1"/"0" and the tool as booleans. */
  flags: Set<string>;
}

/** The document's way of saying a boolean in a query: `"1" | "0" | "true" | "false"`. */
function isFlag(schema: JsonSchema | undefined): boolean {
  const e = schema?.enum;
  return Array.isArray(e) && e.length === 4 && ['1', '0', 'true', 'false'].every((v) => e.includes(v));
}

/** Finds an operation by its operationId: its method, path and body. */
function find(doc: OpenApiDocument, id: string): { method: string; path: string; op: Operation } {
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) if (op.operationId === id) return { method: method.toUpperCase(), path, op };
  }
  throw new Error(`The server's API document has no operation ${id}; this client expects a newer server.`);
}

/** One tool from its spec and the document. */
function toolOf(doc: OpenApiDocument, spec: ToolSpec): McpTool {
  const { method, path, op } = find(doc, spec.op);
  const need = op['x-slipway-scope'];
  if (!isScope(need)) throw new Error(`The server's API document does not say the scope ${spec.op} needs; this client expects a newer server.`);
  const omit = new Set(spec.omit ?? []);
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const places: Record<string, Place> = {};
  const flags = new Set<string>();
  const add = (name: string, place: Place, schema: JsonSchema, req: boolean) => {
    if (omit.has(name)) return;
    if (places[name]) throw new Error(`${spec.op}: the input ${name} is both a ${places[name]} and a ${place} field.`);
    places[name] = place;
    properties[name] = schema;
    if (req) required.push(name);
  };
  for (const p of op.parameters ?? []) {
    if (p.in !== 'path' && p.in !== 'query') continue;
    const flag = p.in === 'query' && isFlag(p.schema);
    if (flag) flags.add(p.name);
    const schema = flag ? { type: 'boolean' } : { ...p.schema };
    add(p.name, p.in, p.description ? { ...schema, description: p.description } : schema, p.in === 'path' || p.required === true);
  }
  const body = op.requestBody?.content?.['application/json']?.schema;
  if (body) {
    const fields = body.properties as Record<string, JsonSchema> | undefined;
    if (fields && !spec.bodyAs) {
      const req = new Set((body.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries(fields)) add(name, 'body', schema, req.has(name));
    } else {
      add(spec.bodyAs ?? 'body', 'whole-body', body, true);
    }
  }
  const destructive = spec.destructive === true;
  if (destructive) {
    if (places.app !== 'path') throw new Error(`${spec.name}: a destructive tool confirms with the app's name, and ${spec.op} names no app.`);
    add(CONFIRM, 'confirm', { type: 'string', description: 'The app\'s name again, to confirm: this tool is destructive, and is refused without it.' }, true);
  }
  const readOnly = method === 'GET';
  const description = [spec.summary ?? op.summary, op.description, spec.note, destructive ? 'Destructive: give confirm, the app\'s name, only when the user asked for exactly this.' : undefined].filter(Boolean).join('. ').replace(/\.\./g, '.');
  return {
    name: spec.name,
    title: spec.title,
    description,
    inputSchema: { type: 'object', properties, required, additionalProperties: false },
    annotations: { title: spec.title, readOnlyHint: readOnly, destructiveHint: destructive, idempotentHint: readOnly || spec.idempotent === true, openWorldHint: false },
    method,
    path: path.replace(/^\/api\/v1/, ''),
    need,
    destructive,
    secretValues: spec.op === 'getAppsAppConfig',
    places,
    flags,
  };
}

/** Every tool of the table, made from the document (an operation it lacks is an error: the server is older). */
export function toolsFrom(doc: OpenApiDocument, specs: readonly ToolSpec[] = TOOL_SPECS): McpTool[] {
  return specs.map((s) => toolOf(doc, s));
}

/** The tools a token with `scope` may call: a read token gets no tool that changes anything. */
export function offered(tools: readonly McpTool[], scope: Scope): McpTool[] {
  return tools.filter((t) => allows(scope, t.need));
}

/** The request a tool call makes. */
export interface ToolRequest {
  method: string;
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  body?: unknown;
}

/**
 * The request of a call with `args`, or the one sentence that refuses it (an unknown or missing
 * input, a destructive call without the app's name as `confirm`). Types and ranges are the API's to check.
 */
export function requestOf(tool: McpTool, args: Record<string, unknown>): ToolRequest | { refused: string } {
  for (const k of Object.keys(args)) {
    if (!tool.places[k]) return { refused: `${tool.name} takes no input ${k}; it takes ${Object.keys(tool.places).join(', ') || 'none'}.` };
  }
  for (const k of tool.inputSchema.required) {
    if (k !== CONFIRM && (args[k] === undefined || args[k] === null || args[k] === '')) return { refused: `${tool.name} needs ${k}.` };
  }
  if (tool.destructive && args[CONFIRM] !== args.app) {
    return { refused: `${tool.name} is destructive: give confirm with the app's name (${String(args.app)}) once the user asked for exactly this; nothing was changed.` };
  }
  const query: ToolRequest['query'] = {};
  let body: Record<string, unknown> | undefined;
  let whole: unknown;
  for (const [k, v] of Object.entries(args)) {
    const place = tool.places[k];
    if (place === 'query') {
      if (tool.flags.has(k)) query[k] = v === true || v === 'true' || v === '1';
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') query[k] = v;
      else return { refused: `${tool.name}: ${k} must be a string or a number.` };
    } else if (place === 'body') {
      (body ??= {})[k] = v;
    } else if (place === 'whole-body') {
      whole = v;
    }
  }
  let bad: string | undefined;
  const path = tool.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    const v = args[name];
    if (typeof v !== 'string' && typeof v !== 'number') bad ??= name;
    return seg(String(v));
  });
  if (bad) return { refused: `${tool.name}: ${bad} must be a string or a number.` };
  const hasBody = Object.values(tool.places).some((p) => p === 'body' || p === 'whole-body');
  return { method: tool.method, path, query, ...(hasBody ? { body: whole ?? body ?? {} } : {}) };
}

/** The config tool's answer for a token that may not read the values: the names only. */
export function withheld(config: unknown, scope: Scope): unknown {
  if (allows(scope, 'deploy') || typeof config !== 'object' || config === null) return config;
  return { names: Object.keys(config).sort(), values: `withheld: this token has the ${scope} scope; the values are given to a deploy or admin token` };
}
