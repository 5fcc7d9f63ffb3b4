// The streams of a command run in a container (KubeClient.exec) when the caller wants lines or a
// result rather than raw bytes: output split into lines as it comes, or collected up to a bound.
import { Readable } from 'node:stream';
import type { ProcessIo } from './process-io.ts';
import type { KubeClient } from './client.ts';

/** No input, and both output streams line by line to `onLine` (a last unterminated line when `end` is called). */
export function lineIo(onLine: (line: string, stream: 'stdout' | 'stderr') => void): { io: ProcessIo; end(): void } {
  const split = (stream: 'stdout' | 'stderr') => {
    let partial = '';
    return {
      write: async (c: Buffer) => {
        const parts = (partial + c.toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const l of parts) onLine(l.replace(/\r$/, ''), stream);
      },
      end: () => { if (partial) onLine(partial, stream); partial = ''; },
    };
  };
  const out = split('stdout');
  const err = split('stderr');
  return { io: { stdin: Readable.from([]), stdout: out.write, stderr: err.write }, end: () => { out.end(); err.end(); } };
}

/** What a command run for its output printed: its exit code, its standard output (at most `maxBytes`), and the end of its standard error. */
export interface ExecOutput { code: number; stdout: string; stderr: string }

/** Runs `command` in a container with no input and collects what it prints (stdout up to `maxBytes`, the last 4 KiB of stderr). */
export async function execOutput(client: KubeClient, at: { namespace: string; pod: string; container: string }, command: string[], signal: AbortSignal, maxBytes = 4 * 2 ** 20): Promise<ExecOutput> {
  const out: Buffer[] = [];
  let outBytes = 0;
  let err = Buffer.alloc(0);
  const code = await client.exec(at.namespace, at.pod, at.container, command, {
    stdin: Readable.from([]),
    stdout: async (c) => { if (outBytes < maxBytes) { out.push(c.subarray(0, maxBytes - outBytes)); outBytes += c.length; } },
    stderr: async (c) => { err = Buffer.concat([err, c]).subarray(-4096); },
  }, signal);
  return { code, stdout: Buffer.concat(out).toString(), stderr: err.toString() };
}
