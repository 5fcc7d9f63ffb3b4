// Where a sync may fetch from, as pure checks: IPv4 addresses carried inside IPv6 transition
// prefixes (IPv4-mapped, NAT64, 6to4, Teredo) are checked as those IPv4 addresses, and pinRemote
// resolves a name once and hands back the addresses it checked (a rebinding name cannot answer
// differently to git later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { embeddedIpv4 } from '../../server/cidr.ts';
import { isInternal, parseRemoteUrl, pinRemote } from '../../server/forge/remote.ts';

/** A Teredo address (RFC 4380): 2001:0:SERVER:flags:port:CLIENT, the client's port and IPv4 with every bit flipped. */
function teredo(server: string, client: string): string {
  const hex = (ip: string) => ip.split('.').map(Number).reduce((v, b) => (v << 8) | b, 0) >>> 0;
  const s = hex(server);
  const c = ~hex(client) >>> 0;
  const w = (v: number) => v.toString(16);
  return `2001:0:${w(s >>> 16)}:${w(s & 0xffff)}:8000:${w(~3544 & 0xffff)}:${w(c >>> 16)}:${w(c & 0xffff)}`;
}

test('the IPv4 address behind each IPv6 transition prefix is read out of it', () => {
  assert.deepEqual(embeddedIpv4('64:ff9b::7f00:1'), ['127.0.0.1']);
  assert.deepEqual(embeddedIpv4('64:ff9b::10.0.0.5'), ['10.0.0.5']);
  assert.deepEqual(embeddedIpv4('2002:7f00:1::'), ['127.0.0.1']);
  assert.deepEqual(embeddedIpv4('::ffff:7f00:1'), ['127.0.0.1']);
  assert.deepEqual(embeddedIpv4('::ffff:169.254.169.254'), ['169.254.169.254']);
  assert.deepEqual(embeddedIpv4(teredo('65.54.227.120', '127.0.0.1')), ['65.54.227.120', '127.0.0.1']);
  // RFC 4380's own example: server 65.54.227.120, client 192.0.2.45 behind port 40000.
  assert.deepEqual(embeddedIpv4('2001:0:4136:e378:8000:63bf:3fff:fdd2'), ['65.54.227.120', '192.0.2.45']);
  assert.deepEqual(embeddedIpv4('2606:4700::1111'), []);
  assert.deepEqual(embeddedIpv4('127.0.0.1'), []);
});

test('a private address behind NAT64, 6to4, Teredo or IPv4-mapped IPv6 is internal; a public one stays allowed', () => {
  const cluster = ['10.42.0.0/16'];
  for (const inside of ['64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '2002:7f00:1::', '2002:c0a8:101::1', '::ffff:7f00:1', '::7f00:1',
    teredo('65.54.227.120', '127.0.0.1'), teredo('10.0.0.1', '8.8.8.8'), teredo('65.54.227.120', '10.42.3.4'), '64:ff9b:1::1', 'fe80::1%eth0']) {
    assert.equal(isInternal(inside, cluster), true, inside);
  }
  for (const outside of ['64:ff9b::8.8.8.8', '2002:808:808::1', teredo('65.54.227.120', '192.0.2.45'), '2606:4700::1111', '140.82.112.3']) {
    assert.equal(isInternal(outside, cluster), false, outside);
  }
});

test('pinRemote resolves the host once and returns what it checked; an internal answer is refused for a deployer, not for an admin', async () => {
  const answers = [['140.82.112.3', '2606:50c0:8000::153'], ['127.0.0.1']];
  let lookups = 0;
  const rebinding = async () => answers[Math.min(lookups++, 1)]!;
  const pin = await pinRemote(parseRemoteUrl('https://forge.example/o/r.git'), false, [], rebinding);
  assert.deepEqual(pin, { host: 'forge.example', port: 443, addresses: ['140.82.112.3', '2606:50c0:8000::153'] });
  assert.equal(lookups, 1, 'one lookup: git is held to these addresses, not to a second answer');
  await assert.rejects(pinRemote(parseRemoteUrl('https://forge.example/o/r.git'), false, [], rebinding),
    /^UserError: Only an admin may connect an app to "forge\.example": it is 127\.0\.0\.1, an address inside this server's networks; nothing was changed\.$/);
  await assert.rejects(pinRemote(parseRemoteUrl('http://nat64.example/o/r.git'), false, [], async () => ['64:ff9b::7f00:1']), /it is 64:ff9b::7f00:1, an address inside/);
  assert.deepEqual(await pinRemote(parseRemoteUrl('ssh://git@forge.example:2222/o/r.git'), true, [], async () => ['127.0.0.1']),
    { host: 'forge.example', port: 2222, addresses: ['127.0.0.1'] });
  assert.deepEqual((await pinRemote(parseRemoteUrl('git@[2606:4700::1111]:o/r.git'), false, [], async () => { throw new Error('not asked'); })).addresses, ['2606:4700::1111']);
});

test('a URL whose host is neither a name nor an address is refused (it is handed to ssh and curl as it is)', () => {
  for (const bad of ["ssh://git@a'b/r.git", 'ssh://git@a$(x)/r.git', 'ssh://git@a;b/r.git']) {
    assert.throws(() => parseRemoteUrl(bad), /is not a repository URL Slipway can fetch: its host is not a name or an address/, bad);
  }
});
