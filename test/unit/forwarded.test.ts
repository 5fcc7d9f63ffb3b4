import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, forwardingProxies } from '../../server/transport/http/forwarded.ts';

test('X-Forwarded-For names the client only when the peer is a listed proxy, read from its right end', () => {
  const none = forwardingProxies([]);
  assert.equal(clientAddress('127.0.0.1', '192.0.2.1', none), '127.0.0.1', 'nobody is trusted by default, not even loopback');
  const ingress = forwardingProxies(['10.42.0.0/16', '::1']);
  assert.equal(clientAddress('10.42.3.4', '192.0.2.1', ingress), '192.0.2.1');
  assert.equal(clientAddress('::ffff:10.42.3.4', '6.6.6.6, 192.0.2.1', ingress), '192.0.2.1', "the client's own entries on the left are not used");
  assert.equal(clientAddress('10.42.3.4', ['192.0.2.1', '10.42.9.9'], ingress), '192.0.2.1', 'trusted hops are walked past');
  assert.equal(clientAddress('10.42.3.4', 'garbage', ingress), '10.42.3.4', 'a malformed entry stops at the last known address');
  assert.equal(clientAddress('10.42.3.4', undefined, ingress), '10.42.3.4');
  assert.equal(clientAddress('192.0.2.9', '10.42.0.1', ingress), '192.0.2.9', 'from an untrusted peer the header is ignored');
});
