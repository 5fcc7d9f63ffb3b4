import { loadConfig } from './config.ts';
import { log } from './output/log.ts';
import { reportFailure } from './output/report.ts';
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
  const r = reportFailure(err, 'start-up failed');
  // A user error (a bad setting) is the whole story: say it where the operator looks.
  if (!r.id) log.error(r.message);
  process.exit(r.exitCode);
});
