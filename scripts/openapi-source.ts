// Where docs/api.md comes from: the OpenAPI document a real server answers at
// GET /api/v1/openapi.json (the route definitions generate it). The server runs in this process
// on loopback, with a throwaway data dir and no builder or deployer: nothing is built or deployed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../server/config.ts';
import { configureLog } from '../server/output/log.ts';
import { startSlipway } from '../server/server.ts';

/** The parts of an OpenAPI 3.1 document docs/api.md shows. */
export interface OpenApiDocument {
  openapi: string;
  info?: { title?: string; version?: string };
  paths?: Record<string, Record<string, unknown>>;
}

/**
 * The server's OpenAPI document, or undefined while the server has no API: then git's HTTP side
 * answers the path (404, or 401 asking for Basic credentials), never with JSON.
 */
export async function apiDocument(): Promise<OpenApiDocument | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-docs-'));
  // The warnings about the missing builder and deployer are expected here, not news.
  configureLog({ level: 'error' });
  const config = loadConfig({ SLIPWAY_DATA_DIR: join(dir, 'data'), SLIPWAY_SSH_PORT: '0', SLIPWAY_HTTP_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_HOST: '127.0.0.1', SLIPWAY_BASE_DOMAIN: 'docs.invalid' });
  const slipway = await startSlipway(config, {});
  try {
    const res = await fetch(`http://127.0.0.1:${slipway.httpPort}/api/v1/openapi.json`);
    if (!res.headers.get('content-type')?.startsWith('application/json')) return undefined;
    if (!res.ok) throw new Error(`GET /api/v1/openapi.json answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as OpenApiDocument;
  } finally {
    await slipway.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
