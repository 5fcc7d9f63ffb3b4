// The pre-receive hook: git runs it (through the shim Slipway writes at start-up) for every push.
// It forwards the push (ref updates on stdin, git's quarantine paths and the push id the
// transport set, given as arguments by the shim) to the running Slipway server over its local
// socket, relays the server's output, and exits with the server's verdict. No logic lives here,
// so it stays fast to start and has nothing to get wrong.
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { MAX_PUSH_OPTIONS, MAX_PUSH_OPTION_LENGTH, decodeMessage, encodeRequest } from './wire.ts';

// The shim passes: socket, push id, then git's quarantine variables (empty when unset), then the
// push options' count (GIT_PUSH_OPTION_COUNT) and the first MAX_PUSH_OPTIONS of them.
const [socketPath, pushId, objectDir, alternates, quarantinePath, count, ...options] = process.argv.slice(2);
const orUndefined = (v: string | undefined) => (v ? v : undefined);
const pushOptions = options.slice(0, Math.min(Number(count) || 0, MAX_PUSH_OPTIONS)).map((o) => o.slice(0, MAX_PUSH_OPTION_LENGTH));

let exitCode: number | undefined;
let buffered = '';
const sock = connect(socketPath!);
sock.setEncoding('utf8');
sock.on('connect', () => sock.write(encodeRequest({
  pushId: pushId ?? '',
  gitDir: process.cwd(),
  stdin: readFileSync(0, 'utf8'),
  quarantine: {
    GIT_OBJECT_DIRECTORY: orUndefined(objectDir),
    GIT_ALTERNATE_OBJECT_DIRECTORIES: orUndefined(alternates),
    GIT_QUARANTINE_PATH: orUndefined(quarantinePath),
  },
  pushOptions,
})));
sock.on('data', (chunk: string) => {
  const lines = (buffered + chunk).split('\n');
  buffered = lines.pop() ?? '';
  let text = '';
  for (const line of lines) {
    const msg = decodeMessage(line);
    if (msg.kind === 'output') text += msg.text;
    else exitCode = msg.exitCode;
  }
  // git reads this output as fast as the pusher does: while it does not, the socket is not read
  // either, so the server holds the output back instead of this process keeping it.
  if (text && !process.stdout.write(text)) {
    sock.pause();
    process.stdout.once('drain', () => sock.resume());
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
