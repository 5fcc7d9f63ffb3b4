// How a drain's delivery goes, read from the collector's own telemetry (pure rules, tested without
// a cluster): its metrics (Prometheus text, one set per collector pod) count the lines sent,
// failed and dropped and the queue's length per exporter; its log (JSON lines) names the
// exporter and the error of every failed attempt, retried or given up.

/** One drain's delivery, summed over the collector's pods. */
export interface Delivery {
  /** Lines the endpoint took, since each collector pod started. */
  sent: number;
  /** Lines given up on after retrying (or refused by the endpoint as bad). */
  failed: number;
  /** Batches waiting in the drain's queue now. */
  queued: number;
  /** Lines dropped because the drain's queue was full. */
  dropped: number;
  /** The last failed attempt: when, and the error as the collector logged it. */
  lastError: { at: string; message: string } | undefined;
}

const SAMPLE = /^(otelcol_exporter_[a-z_]+?)(?:_total)?\{([^}]*)\}\s+(\S+)/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Adds one pod's metrics into `into`, by exporter id (`syslog/d-…`). */
export function addMetrics(into: Map<string, Delivery>, text: string): void {
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels = new Map([...m[2]!.matchAll(LABEL_PAIR)].map((l) => [l[1]!, l[2]!]));
    const exporter = labels.get('exporter');
    const value = Number(m[3]);
    if (exporter === undefined || !Number.isFinite(value)) continue;
    const d = entry(into, exporter);
    switch (m[1]) {
      case 'otelcol_exporter_sent_log_records': d.sent += value; break;
      case 'otelcol_exporter_send_failed_log_records': d.failed += value; break;
      case 'otelcol_exporter_enqueue_failed_log_records': d.dropped += value; break;
      case 'otelcol_exporter_queue_size': d.queued += value; break;
      default: break;
    }
  }
}

/** Adds one pod's log into `into`: each exporter's newest failed attempt. */
export function addLog(into: Map<string, Delivery>, text: string): void {
  for (const line of text.split('\n')) {
    // Each line is "TIMESTAMP {json}" (the pod log's timestamps, then the collector's JSON).
    const brace = line.indexOf('{');
    if (brace < 0 || !line.includes('"error"')) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line.slice(brace)) as Record<string, unknown>;
    } catch {
      continue; // a line cut by the tail's size bound, or not the collector's JSON
    }
    const exporter = rec['otelcol.component.id'];
    const error = rec.error;
    const ts = rec.ts;
    if (typeof exporter !== 'string' || typeof error !== 'string' || typeof ts !== 'string') continue;
    const d = entry(into, exporter);
    if (!d.lastError || d.lastError.at < ts) d.lastError = { at: ts, message: error };
  }
}

function entry(into: Map<string, Delivery>, exporter: string): Delivery {
  let d = into.get(exporter);
  if (!d) {
    d = { sent: 0, failed: 0, queued: 0, dropped: 0, lastError: undefined };
    into.set(exporter, d);
  }
  return d;
}
