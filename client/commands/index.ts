// Every command of the client, in help order.
import { adminCommands } from './admin.ts';
import { appCommands } from './apps.ts';
import { configCommands } from './config.ts';
import { dataCommands } from './data.ts';
import { loginCommands } from './login.ts';
import { mcpCommands } from './mcp.ts';
import { observeCommands } from './observe.ts';
import { psCommands } from './ps.ts';
import { releaseCommands } from './releases.ts';
import { settingCommands } from './settings.ts';
import { sleepCommands } from './sleep.ts';
import type { ClientCommand } from './types.ts';

/** The client's commands. */
export const clientCommands: readonly ClientCommand[] = [
  ...loginCommands,
  ...appCommands,
  ...configCommands,
  ...releaseCommands,
  ...psCommands,
  ...settingCommands,
  ...dataCommands,
  ...adminCommands,
  ...observeCommands,
  ...mcpCommands,
  ...sleepCommands,
];
