// `slipway mcp`: an MCP server on stdio (the official SDK's low-level Server: its tools' inputs are
// the JSON Schemas of the OpenAPI document, which the SDK's zod-based McpServer does not take).
// It reads the server's document and the token's scope once, offers the tools that scope may call
// (tools.ts), and runs each call as one API request with the token, so the server checks the
// token again, records the job under its key and the audit entry under the token's name. The only
// home of @modelcontextprotocol/sdk in the client, loaded only by this command.
import type { Readable, Writable } from 'node:stream';
import { Server as McpSdkServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ClientError } from '../errors.ts';
import { call, type Answer, type Server } from '../http.ts';
import { followJob, type Job } from '../jobs.ts';
import type { Out } from '../out.ts';
import { allows, isScope, offered, requestOf, toolsFrom, withheld, type McpTool, type OpenApiDocument, type Scope } from './tools.ts';

/** How long a call that started a job follows it before answering with the job still running (MCP clients time out at about 60 s). */
const FOLLOW_MS = 45_000;
/** The most text one answer carries (a log, a transcript): an assistant's context is small. */
const MAX_TEXT = 100_000;
/** The transcript lines an ended job's answer carries. */
const JOB_LINES = 40;

/** What the server says of the token, once at the start; `scope` is what is offered (lowered by --scope: `limited`). */
interface Who { name: string; scope: Scope; limited?: boolean }

/** A tool's answer: text, and whether it is a refusal or failure. */
function answer(text: string, isError = false): CallToolResult {
  const cut = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n[cut: ${text.length - MAX_TEXT} more characters]` : text;
  return { content: [{ type: 'text', text: cut }], ...(isError ? { isError: true } : {}) };
}

/** Follows a job the call started, up to FOLLOW_MS: the ended job and its transcript's last lines. */
async function followed(server: Server, job: Job): Promise<CallToolResult> {
  const lines: string[] = [];
  const out: Out = { line: (s) => lines.push(s), raw: (s) => lines.push(s), json: () => {}, note: (s) => lines.push(s), tty: false, errTty: false };
  const signal = AbortSignal.timeout(FOLLOW_MS);
  let code: number;
  try {
    code = await followJob(server, out, job, { json: false, signal });
  } catch (err) {
    if (!signal.aborted) throw err;
    return answer(`Job ${job.id} (${job.kind} on ${job.app}) is still running after ${FOLLOW_MS / 1000} s; follow it with jobs_info or jobs_output (id ${job.id}).\n${lines.slice(-JOB_LINES).join('\n')}`);
  }
  const ended = (await call(server, 'GET', `/jobs/${encodeURIComponent(job.id)}`)).json as Job;
  const shown = lines.length > JOB_LINES ? [`[${lines.length - JOB_LINES} earlier lines: jobs_output ${job.id}]`, ...lines.slice(-JOB_LINES)] : lines;
  return answer(`${JSON.stringify({ job: ended }, null, 2)}\n\nTranscript:\n${shown.join('\n')}`, code !== 0);
}

/** Runs one tool call for a token with `who`'s scope. */
export async function runTool(server: Server, tools: ReadonlyMap<string, McpTool>, who: Who, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const tool = tools.get(name);
  if (!tool) return answer(`There is no tool ${name}.`, true);
  // Listed or not, a tool beyond the token's scope is refused here, before any request (the server would refuse it too).
  if (!offered([tool], who.scope).length) return answer(`${who.limited ? `slipway mcp was started with --scope ${who.scope}` : `This token has the ${who.scope} scope`}; ${name} needs ${tool.need}. Nothing was sent.`, true);
  const req = requestOf(tool, args);
  if ('refused' in req) return answer(req.refused, true);
  let a: Answer;
  try {
    a = await call(server, req.method, req.path, { query: req.query, ...(req.body !== undefined ? { body: req.body } : {}) });
  } catch (err) {
    // The API's one sentence (or what to do when it cannot be reached), for the assistant to read.
    if (err instanceof ClientError) return answer(err.message, true);
    throw err;
  }
  const job = a.status === 202 ? (a.json as { job?: Job } | undefined)?.job : undefined;
  if (job) return followed(server, job);
  if (a.json === undefined) return answer(a.text === '' ? '(empty)' : a.text);
  return answer(JSON.stringify(tool.secretValues ? withheld(a.json, who.scope) : a.json, null, 2));
}

/** What `serveMcp` reads and writes: stdin and stdout by default; `note` is stderr (never the protocol's stdout). */
export interface McpIo { stdin?: Readable; stdout?: Writable; note: (line: string) => void }

/**
 * Serves MCP on stdio for `server`'s token until the client closes stdin; `limit` (--scope) lowers
 * what is offered below the token's own scope, never above it.
 */
export async function serveMcp(server: Server, version: string, io: McpIo, limit?: Scope): Promise<void> {
  const api: Server = { ...server, agent: `slipway-mcp/${version}` };
  const whoami = (await call(api, 'GET', '/whoami')).json as { name?: unknown; scope?: unknown };
  if (typeof whoami.name !== 'string' || !isScope(whoami.scope)) throw new ClientError(`The server at ${api.api} did not say who the token is (GET /api/v1/whoami).`);
  const limited = limit !== undefined && !allows(limit, whoami.scope);
  const who: Who = { name: whoami.name, scope: limited ? limit : whoami.scope, ...(limited ? { limited } : {}) };
  const doc = (await call(api, 'GET', '/openapi.json')).json as OpenApiDocument;
  let all: McpTool[];
  try {
    all = toolsFrom(doc);
  } catch (err) {
    throw new ClientError((err as Error).message, { cause: err });
  }
  const tools = new Map(all.map((t) => [t.name, t]));
  const listed = offered(all, who.scope);
  const mcp = new McpSdkServer(
    { name: 'slipway', title: 'Slipway', version },
    {
      capabilities: { tools: {} },
      instructions: `Slipway apps on ${api.host}, as the key ${who.name} with the ${who.scope} scope: read apps, logs, releases, jobs and config names${who.scope === 'read' ? '' : '; deploy, roll back, scale and set config'}. Destructive tools need confirm set to the app's name; give it only when the user asked for exactly that change.`,
    },
  );
  mcp.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: listed.map((t) => ({ name: t.name, title: t.title, description: t.description, inputSchema: t.inputSchema, annotations: t.annotations })),
  }));
  mcp.setRequestHandler(CallToolRequestSchema, async (req) => runTool(api, tools, who, req.params.name, req.params.arguments ?? {}));
  const transport = new StdioServerTransport(io.stdin, io.stdout);
  const closed = new Promise<void>((resolve) => {
    mcp.onclose = resolve;
    (io.stdin ?? process.stdin).once('end', resolve);
  });
  await mcp.connect(transport);
  io.note(`slipway mcp: ${listed.length} tools for ${who.name} (${whoami.scope} token${limited ? `, offered as ${who.scope}` : ''}) on ${api.api}; reading MCP on stdin.`);
  await closed;
  await mcp.close();
}
