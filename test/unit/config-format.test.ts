// Config vars as text: config:set --encoded's base64, and the KEY='value' lines config:export
// prints and config:import reads (checked against what a real POSIX shell makes of them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { configLines, decodeBase64Value, encodeBase64Value, parseConfigLines } from '../../server/ops/config/config-format.ts';
import { parsePairs } from '../../server/commands/config.ts';
import { UserError } from '../../server/errors.ts';

const TRICKY: Record<string, string> = {
  NEWLINES: 'line one\nline two\n\nline four\n',
  QUOTES: `it's "quoted" ''`,
  DOLLAR: '$HOME $(id) `id` ${X:-y}',
  BACKSLASH: 'C:\\path\\n \\\\ \\',
  EQUALS: 'a=b==c=',
  UNICODE: 'naïve 日本語 🚀 \u00a0',
  CRLF: 'windows\r\nline\r',
  EMPTY: '',
  SPACES: '  leading and trailing  ',
  HASH: '#not a comment',
  TILDE: '~/x',
};

/** What `sh` assigns when it sources `lines`: each var's value, as printf prints it. */
function sourced(lines: string[], keys: string[]): Record<string, string> {
  const script = `${lines.join('\n')}\n${keys.map((k) => `printf '%s\\0' "$${k}"`).join('\n')}\n`;
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const values = r.stdout.split('\0').slice(0, -1);
  return Object.fromEntries(keys.map((k, i) => [k, values[i]!]));
}

const refused = (text: string, message: RegExp) => assert.throws(() => parseConfigLines(text), (err: unknown) => err instanceof UserError && message.test(err.message));

test('base64 values decode exactly, newlines and quotes included; line breaks of wrapped base64 are allowed', () => {
  const value = 'first "line"\nit\'s the second\n';
  assert.equal(decodeBase64Value('K', encodeBase64Value(value)), value);
  assert.equal(decodeBase64Value('K', Buffer.from('x'.repeat(100)).toString('base64').replace(/.{76}/, '$&\n')), 'x'.repeat(100));
  assert.equal(decodeBase64Value('K', ''), '');
  assert.equal(decodeBase64Value('K', encodeBase64Value('🚀')), '🚀');
  assert.equal(decodeBase64Value('K', encodeBase64Value('\uFEFFbom')), '\uFEFFbom', 'a leading byte-order mark is kept');
});

test('invalid base64 is refused with one sentence naming the key', () => {
  for (const bad of ['not base64!', 'aGVsbG8', 'aGVsbG8=x', 'aGV sbG8=', 'aGVsbG9=', '====', 'aGVs-G8_']) {
    assert.throws(() => decodeBase64Value('SECRET', bad), { name: 'UserError', message: 'The value of SECRET is not valid base64 (--encoded takes every value base64-encoded).' }, bad);
  }
  assert.throws(() => decodeBase64Value('BIN', Buffer.from([0xff, 0xfe]).toString('base64')), { message: 'The value of BIN does not decode to UTF-8 text.' });
});

test('config:set --encoded decodes every value before anything is written, and one bad value refuses all', () => {
  assert.deepEqual(parsePairs(['A=' + encodeBase64Value('x\ny'), 'B='], { encoded: true }), { A: 'x\ny', B: '' });
  assert.throws(() => parsePairs(['A=' + encodeBase64Value('ok'), 'B=%%%'], { encoded: true }), { message: /^The value of B is not valid base64/ });
  assert.throws(() => parsePairs(['A=' + encodeBase64Value('a\0b')], { encoded: true }), { message: 'The value of A contains a NUL character.' });
});

test('export then import gives back every value exactly: newlines, quotes, $, backslashes, =, unicode', () => {
  for (const format of ['shell', 'exports'] as const) {
    const text = configLines(TRICKY, format).join('\n') + '\n';
    assert.deepEqual(parseConfigLines(text), TRICKY, format);
  }
  assert.match(configLines({ A: "it's" }, 'exports')[0]!, /^export A='it'\\''s'$/);
});

test('a POSIX shell sourcing the lines assigns the same values config:import reads', () => {
  const lines = configLines(TRICKY);
  assert.deepEqual(sourced(lines, Object.keys(TRICKY)), TRICKY);
  const handWritten = [`A=plain`, `B="dq \\"x\\" \\$ \\\\"`, `C=a\\ b'c'"d"`, `export D='x'`, '', '# note', `E=`];
  const keys = ['A', 'B', 'C', 'D', 'E'];
  assert.deepEqual(parseConfigLines(handWritten.join('\n')), sourced(handWritten, keys));
});

test('blank lines, comments, CRLF line ends and a missing final newline are fine; a later line wins', () => {
  assert.deepEqual(parseConfigLines('# exported\r\n\r\nA=1\r\n  B=\'two\'  \r\nA=3'), { A: '3', B: 'two' });
  assert.deepEqual(parseConfigLines(''), {});
});

test('a malformed line is refused with one sentence naming its line number', () => {
  refused('A=1\nnot a pair\n', /^Line 2 is not KEY=VALUE\.$/);
  refused('A=1\n\n1X=2\n', /^Line 3 is not KEY=VALUE\.$/);
  refused('A-B=1', /^Line 1 is not KEY=VALUE\.$/);
  refused("A=1\nB='never closed\nC=3\n", /^Line 2 has a single quote that is never closed \(the value of B\)\.$/);
  refused('A="never closed', /^Line 1 has a double quote that is never closed/);
  refused("A='multi\nline'\nB=$HOME\n", /^Line 3 has an unquoted \$ in the value of B, which a shell would act on; quote the value\.$/);
  refused('A=x;y', /^Line 1 has an unquoted ; in the value of A/);
  refused('A=~/x', /^Line 1 starts the value of A with an unquoted ~/);
  refused('A="$HOME"', /^Line 1 has \$ inside double quotes, which a shell would expand/);
  refused("A='one' two", /^Line 1 has more after the value of A; quote a value with spaces\.$/);
  refused("A='a\nb' junk", /^Line 2 has more after the value of A/);
  refused('A=x\\', /^Line 1 ends with a backslash/);
  refused('A=1\nB=a\0b', /^Line 2 contains a NUL character\.$/);
  refused(`A=1\nB='${'x'.repeat(40_000)}'`, /^Line 2: The value of B is longer than 32768 characters\.$/);
});
