// The client's completion scripts in the shells themselves: zsh's completion system (compinit,
// driven through a terminal under zsh/zpty) and fish's `complete -C` complete commands across the
// colon and each command's options. bash's is tested in client-remotes.test.ts. zsh and fish are
// Debian packages scripts/provision installs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { completionScript } from '../../client/completion.ts';
import { clientCommands } from '../../client/commands/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'slipway-completion-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('zsh completes a command across the colon, and a command\'s options, through compinit', () => {
  const script = join(dir, 'slipway.zsh');
  writeFileSync(script, completionScript('zsh', clientCommands));
  const complete = (line: string) => execFileSync('zsh', ['-f', join(import.meta.dirname, '..', 'support', 'zsh-complete.zsh'), script, line], { encoding: 'utf8', timeout: 20_000 })
    // What the terminal showed, without its escape sequences.
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\r\b]/g, '');
  assert.match(complete('slipway config:s'), /slipway config:set /);
  assert.match(complete('slipway config:set A=1 --no-r'), /slipway config:set A=1 --no-restart /);
});

test('fish completes a command across the colon with its summary, and a command\'s options', () => {
  const script = join(dir, 'slipway.fish');
  writeFileSync(script, completionScript('fish', clientCommands));
  const complete = (line: string) => execFileSync('fish', ['--no-config', '-c', `source ${script}; complete -C ${JSON.stringify(line)}`], { encoding: 'utf8', timeout: 20_000 }).trim().split('\n');
  assert.deepEqual(complete('slipway config:s'), [`config:set\t${clientCommands.find((c) => c.name === 'config:set')!.summary}`]);
  assert.deepEqual(complete('slipway config:set A=1 --no').map((l) => l.split('\t')[0]), ['--no-restart', '--no-wait']);
  assert.ok(complete('slipway logs -').some((l) => l.startsWith('--tail')));
});
