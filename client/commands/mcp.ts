// `slipway mcp`: the client as an MCP server on stdio, for an assistant (docs/cli.md, "MCP"). Its
// module and the MCP SDK are loaded only here, so no other command pays for them at start.
import { UsageError } from '../errors.ts';
import { isScope } from '../mcp/tools.ts';
import { version } from '../version.ts';
import { str } from './kit.ts';
import type { ClientCommand } from './types.ts';

export const mcpCommands: ClientCommand[] = [
  {
    name: 'mcp', usage: '', summary: "Serve MCP on stdio: an assistant's tools over the API, bound by the token's scope",
    routes: ['GET /whoami', 'GET /openapi.json'], app: false, args: { min: 0, max: 0 },
    flags: { scope: { type: 'string', help: "offer only what this scope may do (read or deploy), below the token's own: a stored login's token for an assistant that should only look" } },
    run: async (r) => {
      const scope = str(r, 'scope');
      if (scope !== undefined && !isScope(scope)) throw new UsageError(`--scope takes read, deploy or admin, not ${JSON.stringify(scope)}.`);
      const { serveMcp } = await import('../mcp/serve.ts');
      await serveMcp(r.server, version(), { note: (s) => r.ctx.out.note(s) }, scope);
    },
  },
];
