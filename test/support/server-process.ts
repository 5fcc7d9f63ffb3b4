// Runs a real Slipway server in its own process with the test fakes as builder and deployer,
// for tests that kill the server (kill -9 mid-push) and for the transport benchmark.
// FAKE_BUILD_HOLD=1 makes every build wait until the push is aborted; FAKE_FLOOD=release or
// FAKE_FLOOD=logs makes the release command or `logs -t` print without end. FAKE_DATA_HOLD=1
// makes every database's start wait for ever (it prints data-apply-started).
import { loadConfig } from '../../server/config.ts';
import { startSlipway } from '../../server/server.ts';
import { FakeBuilder, FakeDeployer, type FakeControls } from './fakes.ts';

const controls: FakeControls = {};
if (process.env.FAKE_BUILD_HOLD === '1') controls.buildGate = new Promise<void>(() => {});
if (process.env.FAKE_FLOOD === 'release') {
  controls.releaseFlood = true;
  controls.processes = [{ type: 'web', command: ['web'], args: [], default: true }, { type: 'release', command: ['release'], args: [], default: false }];
}
if (process.env.FAKE_FLOOD === 'logs') controls.logFlood = true;
controls.onBuildStart = () => process.stdout.write('build-started\n');
const deployer = new FakeDeployer(controls);
if (process.env.FAKE_DATA_HOLD === '1') {
  deployer.data.hold = new Promise<void>(() => {});
  deployer.data.onApply = () => process.stdout.write('data-apply-started\n');
}
const slipway = await startSlipway(loadConfig(), { builder: new FakeBuilder(controls), deployer });
process.stdout.write(JSON.stringify({ ssh: slipway.sshPort, http: slipway.httpPort }) + '\n');
process.once('SIGTERM', () => void slipway.close().then(() => process.exit(0)));
