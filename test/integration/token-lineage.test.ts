// A token that makes tokens: revoking it revokes what it made, down the line, so a stolen token
// cannot outlive its revocation through a token it minted. Real fetch and ssh against the server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';

describe('tokens made by tokens', { timeout: 60_000 }, () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(async () => { await s.close(); });

  test('revoking a token revokes the tokens it made and theirs; a token made over SSH stays', async () => {
    const stolen = await makeToken(s, s.admin, 'stolen', 'deploy');
    const kept = await makeToken(s, s.admin, 'kept', 'deploy');
    const child = await api(s, 'POST', '/tokens', { token: stolen, body: { name: 'child', scope: 'deploy' } });
    assert.equal(child.status, 201, child.text);
    const childToken = (child.json as { token: string }).token;
    const grand = await api(s, 'POST', '/tokens', { token: childToken, body: { name: 'grandchild', scope: 'read' } });
    assert.equal(grand.status, 201, grand.text);
    const grandToken = (grand.json as { token: string }).token;
    assert.equal((await api(s, 'GET', '/whoami', { token: childToken })).status, 200);

    const revoked = await s.ssh(s.admin, 'tokens:revoke stolen');
    assert.equal(revoked.exitCode, 0, revoked.stderr);
    assert.equal((await api(s, 'GET', '/whoami', { token: stolen })).status, 401);
    assert.equal((await api(s, 'GET', '/whoami', { token: childToken })).status, 401, 'the child goes with its parent');
    assert.equal((await api(s, 'GET', '/whoami', { token: grandToken })).status, 401, 'and its child too');
    assert.equal((await api(s, 'GET', '/whoami', { token: kept })).status, 200);
    const list = await s.ssh(s.admin, 'tokens:list --json');
    assert.deepEqual((JSON.parse(list.stdout) as { name: string }[]).map((t) => t.name), ['kept']);
  });
});
