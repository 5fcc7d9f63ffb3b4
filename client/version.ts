// The client's version, for `--version` and what the MCP server says it is.
import { readFileSync } from 'node:fs';

/** The client's version, from its package.json: beside main.ts in a checkout, one folder up from the built dist/slipway.mjs. */
export function version(): string {
  for (const at of ['./package.json', '../package.json']) {
    try {
      const p = JSON.parse(readFileSync(new URL(at, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (p.name === 'slipway-cli') return p.version;
    } catch {
      // Not there: the other place.
    }
  }
  return 'unknown';
}
