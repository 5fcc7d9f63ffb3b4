import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize } from '../../server/commands/parse.ts';
import { parseArgs, commands } from '../../server/commands/registry.ts';
import { UsageError, UserError } from '../../server/errors.ts';
import { parsePairs } from '../../server/commands/config.ts';
import { repoArgument } from '../../server/transport/ssh/server.ts';
import { defineCommand, type Command, type CommandContext } from '../../server/commands/types.ts';

test('tokenize splits like a shell but expands nothing', () => {
  assert.deepEqual(tokenize('config:set app A=1 B="v w"'), ['config:set', 'app', 'A=1', 'B=v w']);
  assert.deepEqual(tokenize(`a 'x y' "p\\"q" r\\ s`), ['a', 'x y', 'p"q', 'r s']);
  assert.deepEqual(tokenize('a $(id) `id` ; | && *'), ['a', '$(id)', '`id`', ';', '|', '&&', '*']);
  assert.deepEqual(tokenize(`a ''`), ['a', '']);
  assert.deepEqual(tokenize('  a\t b  '), ['a', 'b']);
  assert.deepEqual(tokenize(`k "line1\nline2"`), ['k', 'line1\nline2']);
  assert.throws(() => tokenize('a\nb'), UserError);
  assert.throws(() => tokenize("a 'open"), UsageError);
  assert.throws(() => tokenize('a "open'), UsageError);
  assert.throws(() => tokenize('a \\'), UsageError);
  assert.throws(() => tokenize('a\0b'), UserError);
});

test('parseArgs checks declared flags and arity', () => {
  const destroy = commands.find((c) => c.name === 'apps:destroy')!;
  assert.deepEqual(parseArgs(destroy, ['x', '--confirm', 'x']), { args: ['x'], flags: { confirm: 'x' } });
  assert.deepEqual(parseArgs(destroy, ['x', '--confirm=x']), { args: ['x'], flags: { confirm: 'x' } });
  assert.throws(() => parseArgs(destroy, ['x', '--force']), /Unknown option "--force"/);
  assert.throws(() => parseArgs(destroy, ['-x']), /Unknown option "-x"/);
  assert.throws(() => parseArgs(destroy, ['x', '--confirm']), /needs a value/);
  assert.throws(() => parseArgs(destroy, []), /usage: apps:destroy APP --confirm APP/);
  const list = commands.find((c) => c.name === 'apps:list')!;
  assert.deepEqual(parseArgs(list, ['--json']), { args: [], flags: { json: true } });
  assert.throws(() => parseArgs(list, ['--json=yes']), /takes no value/);
  // An option's name may hold digits after its first letter.
  const restore = commands.find((c) => c.name === 'restore')!;
  assert.deepEqual(parseArgs(restore, ['latest', '--from-s3', '--key', 'k']), { args: ['latest'], flags: { 'from-s3': true, key: 'k' } });
  assert.throws(() => parseArgs(restore, ['latest', '--3d']), /Unknown option "--3d"/);
  const set = commands.find((c) => c.name === 'config:set')!;
  assert.deepEqual(parseArgs(set, ['app', '--', '--X=1']).args, ['app', '--X=1']);
});

// The type-check (part of the test command) fails when an @ts-expect-error below stops being an error.
test("a command's run reads its flags typed from its own declaration, and a literal command reads none", async () => {
  const seen: unknown[] = [];
  const c = defineCommand({
    name: 'things:set', usage: 'APP [-t] [--mode M]', summary: 'Set things', access: 'app', args: { min: 1, max: 1 }, json: true,
    flags: { tail: { type: 'boolean', short: 't', help: 'keep going' }, mode: { type: 'string', help: 'which mode' } },
    run: (_ctx, app, _args, flags) => {
      const tail: true | undefined = flags.tail;
      const mode: string | undefined = flags.mode;
      const json: true | undefined = flags.json;
      // @ts-expect-error an option the command does not declare
      void flags.other;
      // @ts-expect-error a string option is not a boolean
      const wrong: boolean | undefined = flags.mode;
      seen.push(app, tail, mode, json, wrong);
    },
  });
  const { args, flags } = parseArgs(c, ['myapp', '-t', '--mode', 'fast', '--json']);
  assert.equal(c.access, 'app');
  if (c.access === 'app') await c.run({} as CommandContext, args[0]!, args.slice(1), flags);
  assert.deepEqual(seen, ['myapp', true, 'fast', true, 'fast']);
  const plain = defineCommand({
    name: 'things', usage: '', summary: 'List things', access: 'any', args: { min: 0, max: 0 },
    // @ts-expect-error no json: true, so no --json
    run: (_ctx, _args, flags) => void flags.json,
  });
  assert.throws(() => parseArgs(plain, ['--json']), /Unknown option "--json" for things/);
  const literal: Command = {
    name: 'raw', usage: '', summary: 'Raw', access: 'any', args: { min: 0, max: 0 }, flags: { q: { type: 'boolean', help: 'quiet' } },
    // @ts-expect-error declared without defineCommand, its flags are not typed, so none may be read
    run: (_ctx, _args, flags) => void flags.q,
  };
  assert.deepEqual(parseArgs(literal, ['--q']).flags, { q: true });
});

test('parsePairs validates every pair before returning', () => {
  assert.deepEqual(parsePairs(['A=1', 'B=x=y', 'C=']), { A: '1', B: 'x=y', C: '' });
  assert.throws(() => parsePairs(['A=1', 'nope']), /"nope" is not KEY=VALUE/);
  assert.throws(() => parsePairs(['=1']), /not KEY=VALUE/);
  assert.throws(() => parsePairs(['A-B=1']), /not a valid config key/);
  assert.throws(() => parsePairs(['A=' + 'x'.repeat(40000)]), /longer than/);
});

test('repoArgument accepts only one plain app repository', () => {
  assert.equal(repoArgument('/myapp.git'), 'myapp');
  assert.equal(repoArgument('myapp.git'), 'myapp');
  assert.equal(repoArgument('myapp'), 'myapp');
  assert.equal(repoArgument('/myapp.git/'), 'myapp');
  // Only ever a name: '/etc' means the app "etc", whose repo path the server builds itself.
  assert.equal(repoArgument('/etc'), 'etc');
  for (const bad of ['../x.git', '/a/b.git', '~/x.git', '', '/', '/-x.git', '/UP.git', '/x/../../y']) {
    assert.throws(() => repoArgument(bad), UserError, bad);
  }
});
