// The generated references (docs/commands.md, docs/configuration.md, docs/api.md) match the code
// they are generated from: a command, setting or route changed without `npm run docs` fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generatedDocs, renderApi, renderCommands, renderConfiguration } from '../../scripts/docs.ts';
import type { Command } from '../../server/commands/types.ts';

const root = resolve(import.meta.dirname, '..', '..');

test('every generated reference in docs/ is what `npm run docs` writes from the code today', async () => {
  const docs = await generatedDocs();
  const paths = docs.map((d) => d.path);
  assert.ok(paths.includes('docs/commands.md') && paths.includes('docs/configuration.md'), paths.join(', '));
  // Once docs/api.md is committed, the API's document must exist: losing it is drift too.
  if (existsSync(join(root, 'docs', 'api.md'))) assert.ok(paths.includes('docs/api.md'), 'docs/api.md is committed but the server no longer answers GET /api/v1/openapi.json with JSON');
  for (const d of docs) {
    const file = join(root, d.path);
    const committed = existsSync(file) ? readFileSync(file, 'utf8') : '';
    assert.ok(committed === d.text, `${d.path} is out of date with the code it is generated from: run \`npm run docs\` (scripts/provision npm run docs) and commit the result.`);
  }
});

test('a command is listed with its usage, who may run it, each option with its help, and --json', () => {
  const c: Command = {
    name: 'things:set', usage: 'APP [-t] [--mode M|N]', summary: 'Set things', access: 'app', args: { min: 1, max: 1 }, json: true,
    flags: { tail: { type: 'boolean', short: 't', help: 'keep going' }, mode: { type: 'string', help: 'which mode' } },
    run: () => undefined,
  };
  const md = renderCommands([c]);
  assert.ok(md.includes('| [`things:set APP [-t] [--mode M\\|N]`](#thingsset) | app | Set things |'), md);
  assert.ok(md.includes('### things:set\n\n```\nthings:set APP [-t] [--mode M|N]\n```\n\nSet things.\n'), md);
  assert.ok(md.includes('- `-t, --tail`: keep going\n- `--mode VALUE`: which mode\n- `--json`: print the result as JSON'), md);
});

test('a setting is one row: name, default, meaning', () => {
  const md = renderConfiguration([{ name: 'SLIPWAY_THING', default: '`a|b`', doc: 'What the thing is.' }]);
  assert.ok(md.includes('| `SLIPWAY_THING` | `a\\|b` | What the thing is. |'), md);
});

test('an API operation shows its method, path, query, body and responses from the OpenAPI document', () => {
  const md = renderApi({
    openapi: '3.1.0',
    info: { version: '1' },
    paths: {
      '/api/v1/apps/{app}/config': {
        patch: {
          tags: ['config'], summary: 'Change config vars',
          requestBody: { content: { 'application/json': { schema: { type: 'object', required: ['set'], properties: { set: { type: 'object', additionalProperties: { type: 'string' } }, restart: { type: 'boolean' } } } } } },
          responses: {
            202: { description: 'Rolling out', content: { 'application/json': { schema: { type: 'object', properties: { job: { $ref: '#/components/schemas/Job' } } } } } },
            404: { description: 'Default Response', content: { 'application/json': { schema: { type: 'object' } } } },
            '5XX': { description: 'Default Response' },
          },
        },
      },
      '/api/v1/apps/{app}/logs': { get: { tags: ['logs'], parameters: [{ name: 'tail', in: 'query', schema: { type: 'integer' } }], responses: { 200: { description: 'Log lines', content: { 'text/plain': {} } } } } },
    },
  });
  assert.ok(md.includes('## config\n\n### PATCH /api/v1/apps/{app}/config\n\nChange config vars.\n'), md);
  assert.ok(md.includes('Body (`application/json`): `{set: {KEY: string}, restart?: boolean}`'), md);
  assert.ok(md.includes('- 202 Rolling out: `{job?: Job}`\n- 404, 5XX: the error body\n'), md);
  assert.ok(md.includes('- `tail` (integer)'), md);
  assert.ok(md.includes('- 200 Log lines: `text/plain`'), md);
});
