// The pre-receive shim's client: it forwards the push (ref updates on stdin, git's quarantine
// paths and the push id the transport set, given as arguments by the shim) to the running Slipway server over its local
// socket, relays the server's output, and exits with the server's verdict. No logic lives here,
// so it stays fast to start and has nothing to get wrong.
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';

// The shim passes: socket, push id, then git's quarantine variables (empty when unset).
const [socketPath, pushId, objectDir, alternates, quarantinePath] = process.argv.slice(2);
const orUndefined = (v: string | undefined) => (v ? v : undefined);
const request = {
  pushId: pushId ?? '',
  gitDir: process.cwd(),
  stdin: readFileSync(0, 'utf8'),
  quarantine: {
    GIT_OBJECT_DIRECTORY: orUndefined(objectDir),
    GIT_ALTERNATE_OBJECT_DIRECTORIES: orUndefined(alternates),
    GIT_QUARANTINE_PATH: orUndefined(quarantinePath),
  },
};

let exitCode: number | undefined;
let buffered = '';
const sock = connect(socketPath!);
sock.setEncoding('utf8');
sock.on('connect', () => sock.write(JSON.stringify(request) + '\n'));
sock.on('data', (chunk: string) => {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const msg = JSON.parse(buffered.slice(0, nl)) as { o?: string; x?: number };
    buffered = buffered.slice(nl + 1);
    if (msg.o !== undefined) process.stdout.write(msg.o);
    if (msg.x !== undefined) exitCode = msg.x;
  }
});
sock.on('error', (err) => {
  process.stdout.write(` !     The Slipway server is not reachable (${err.message}); nothing was deployed.\n`);
  process.exitCode = 1;
});
sock.on('close', () => {
  if (exitCode === undefined && !process.exitCode) process.stdout.write(' !     The Slipway server closed the connection; nothing was deployed.\n');
  process.exitCode = exitCode ?? 1;
});
