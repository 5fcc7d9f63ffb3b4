// Traces of a push over OTLP/HTTP (SLIPWAY_OTLP_TRACES_URL) against a real server (fake builder
// and deployer) and an OTLP/HTTP receiver of the test's own on loopback, which reads what the
// exporter sends as OTLP's JSON encoding: one trace per push, its root span `push` from git
// receive-pack's start, with `receive`, `build` and `rollout` as its children, in order and inside it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { push } from '../support/api-client.ts';
import { eventually } from '../support/eventually.ts';
import { attribute, startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from '../support/otlp-receiver.ts';

describe('push traces over OTLP/HTTP', { timeout: 120_000 }, () => {
  let s: TestServer;
  let receiver: OtlpReceiver;

  before(async () => {
    receiver = await startOtlpReceiver();
    s = await startTestServer({ SLIPWAY_OTLP_TRACES_URL: receiver.url });
  });
  after(async () => {
    await s?.close();
    await receiver?.close();
  });

  test('a push is one trace: push ⊃ receive, build, rollout, with the app and the service named', async () => {
    const app = await newApp(s, 'traced');
    await push(s, app, 'console.log("traced")');
    const spans = () => receiver.spans();
    const requests = receiver.requests;
    const root = await eventually('the push span at the receiver', async () => spans().find((x) => x.name === 'push' && attribute(x, 'slipway.app') === app), 15_000);
    assert.equal(requests[0]!.path, '/v1/traces');
    assert.match(requests[0]!.type, /^application\/json/);
    const service = requests[0]!.body.resourceSpans[0]!.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
    assert.equal(service, 'slipway');
    assert.equal(root.parentSpanId || undefined, undefined, 'push is the root');
    assert.equal(root.status?.code, 1, 'ok');
    const children = spans().filter((x) => x.traceId === root.traceId && x.parentSpanId === root.spanId);
    const byName = new Map(children.map((c) => [c.name, c]));
    for (const name of ['receive', 'build', 'rollout']) assert.ok(byName.has(name), `${name} is a child of push (children: ${children.map((c) => c.name).join(', ')})`);
    const t = (x: OtlpSpan, k: 'startTimeUnixNano' | 'endTimeUnixNano') => BigInt(x[k]);
    const [receive, build, rollout] = ['receive', 'build', 'rollout'].map((n) => byName.get(n)!);
    assert.equal(t(receive!, 'startTimeUnixNano'), t(root, 'startTimeUnixNano'), 'the push starts with the receive');
    assert.ok(t(receive!, 'endTimeUnixNano') <= t(build!, 'startTimeUnixNano'), 'receive, then build');
    assert.ok(t(build!, 'endTimeUnixNano') <= t(rollout!, 'startTimeUnixNano'), 'build, then rollout');
    assert.ok(t(rollout!, 'endTimeUnixNano') <= t(root, 'endTimeUnixNano'), 'inside the push');
    assert.equal(attribute(build!, 'slipway.backend'), 'fake');
  });
});
