// Traces of a push (receive → build → release → rollout → switch) sent over OTLP/HTTP to the
// endpoint SLIPWAY_OTLP_TRACES_URL names, so a slow push shows where its time went. The one home
// of @opentelemetry/*: its API here, the SDK and the exporter loaded only when tracing is on (a
// server without the setting loads none of it). Stages nest by the async context they run in, so
// a stage deep in the deployer (the switch of the traffic) needs no span handed down to it.
import { context, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { UserError } from '../errors.ts';

/** A span's attributes: a few fixed facts (the app, a release's version, the backend), never config or user text. */
export type SpanAttributes = Record<string, string | number>;

let tracer: Tracer | undefined;
let stop: (() => Promise<void>) | undefined;

/** Epoch milliseconds of a `performance.now()` reading, as spans take their times. */
function epochMs(t: number): number {
  return performance.timeOrigin + t;
}

/**
 * Starts sending traces to `url` (an OTLP/HTTP traces endpoint, `…/v1/traces`), batched every
 * second; `version` names the service's version. Once per process.
 */
export async function startTracing(url: string, version: string): Promise<void> {
  if (tracer) return;
  const [{ TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { AsyncLocalStorageContextManager }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/context-async-hooks'),
  ]);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'slipway', 'service.version': version }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: 1000 })],
  });
  trace.setGlobalTracerProvider(provider);
  tracer = provider.getTracer('slipway', version);
  stop = () => provider.shutdown();
}

/** Sends what is still batched and stops (the server is closing). */
export async function stopTracing(): Promise<void> {
  const s = stop;
  tracer = undefined;
  stop = undefined;
  await s?.();
  trace.disable();
  context.disable();
}

/**
 * Runs `fn` as the stage `name` of whatever trace is under way (a new trace when none is): a span
 * from its start (or `start`, an earlier `performance.now()` reading) to its end, marked failed
 * with the error's sentence when it throws. Without tracing, just runs `fn`.
 */
export async function inSpan<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>, start?: number): Promise<T> {
  if (!tracer) return fn();
  return tracer.startActiveSpan(name, { attributes, ...(start !== undefined ? { startTime: epochMs(start) } : {}) }, async (span) => {
    try {
      const value = await fn();
      span.setStatus({ code: SpanStatusCode.OK });
      return value;
    } catch (err) {
      // The sentence a user was shown; anything else stays in the server's log.
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof UserError ? err.message : 'internal error (see the server log)' });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Records a stage that already happened (from `start` to `end`, `performance.now()` readings) in the trace under way. */
export function pastSpan(name: string, attributes: SpanAttributes, start: number, end: number): void {
  tracer?.startSpan(name, { attributes, startTime: epochMs(start) }).end(epochMs(end));
}
