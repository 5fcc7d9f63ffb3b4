// Where a sync may fetch from, as pure checks: pinRemote resolves a name once and hands back the
// addresses it checked (a rebinding name cannot answer differently to git later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRemoteUrl, pinRemote } from '../../server/forge/remote.ts';

test('pinRemote resolves the host once and returns what it checked; an internal answer is refused for a deployer, not for an admin', async () => {
  const answers = [['140.82.112.3', '2606:50c0:8000::153'], ['127.0.0.1']];
  let lookups = 0;
  const rebinding = async () => answers[Math.min(lookups++, 1)]!;
  const pin = await pinRemote(parseRemoteUrl('https://forge.example/o/r.git'), false, [], rebinding);
  assert.deepEqual(pin, { host: 'forge.example', port: 443, addresses: ['140.82.112.3', '2606:50c0:8000::153'] });
  assert.equal(lookups, 1, 'one lookup: git is held to these addresses, not to a second answer');
  await assert.rejects(pinRemote(parseRemoteUrl('https://forge.example/o/r.git'), false, [], rebinding),
    /^UserError: Only an admin may connect an app to "forge\.example": it is 127\.0\.0\.1, an address inside this server's networks; nothing was changed\.$/);
  assert.deepEqual(await pinRemote(parseRemoteUrl('ssh://git@forge.example:2222/o/r.git'), true, [], async () => ['127.0.0.1']),
    { host: 'forge.example', port: 2222, addresses: ['127.0.0.1'] });
  assert.deepEqual((await pinRemote(parseRemoteUrl('git@[2606:4700::1111]:o/r.git'), false, [], async () => { throw new Error('not asked'); })).addresses, ['2606:4700::1111']);
});

test('a URL whose host is neither a name nor an address is refused (it is handed to ssh and curl as it is)', () => {
  for (const bad of ["ssh://git@a'b/r.git", 'ssh://git@a$(x)/r.git', 'ssh://git@a;b/r.git']) {
    assert.throws(() => parseRemoteUrl(bad), /is not a repository URL Slipway can fetch: its host is not a name or an address/, bad);
  }
});
