// `slipway mcp`: the client as an MCP server on stdio, for an assistant (docs/cli.md, "MCP"). Its
// module and the MCP SDK are loaded only here, so no other command pays for them at start.
import type { ClientCommand } from './types.ts';
import { version } from '../version.ts';

export const mcpCommands: ClientCommand[] = [
  {
    name: 'mcp', usage: '', summary: "Serve MCP on stdio: an assistant's tools over the API, bound by the token's scope",
    routes: ['GET /whoami', 'GET /openapi.json'], app: false, args: { min: 0, max: 0 },
    run: async (r) => {
      const { serveMcp } = await import('../mcp/serve.ts');
      await serveMcp(r.server, version(), { note: (s) => r.ctx.out.note(s) });
    },
  },
];
