import { loadConfig } from './config.ts';
import { renderError } from './errors.ts';
import { log } from './output/log.ts';
import { startSlipway } from './server.ts';
import { chooseBackends } from './backends.ts';

/** `npm start`: the server, until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const slipway = await startSlipway(config, await chooseBackends(config));
  const stop = (signal: string) => {
    log.info('stopping', { signal });
    void slipway.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  const r = renderError(err);
  log.error(r.id ? 'start-up failed' : r.message, { err: r.id ? err : undefined });
  process.exit(r.exitCode === 1 ? 1 : 70);
});
