// Pod log lines as `logs` prints them, Heroku style: `TIME app[web.x2k4p]: text`. Kubernetes
// prefixes each line with an RFC 3339 timestamp (nanoseconds, trailing zeros trimmed) when asked
// for `timestamps=true`; these helpers split, order and format such lines.

/** A timestamped log line of one pod. */
export interface LogLine {
  /** The timestamp as Kubernetes wrote it. */
  time: string;
  /** A sortable form of `time` (fraction padded to nanoseconds). */
  key: string;
  text: string;
}

/** Splits `2024-05-01T12:00:00.1234Z text` into its timestamp and text. */
export function splitLogLine(line: string): LogLine {
  const sp = line.indexOf(' ');
  const time = sp > 0 ? line.slice(0, sp) : '';
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return { time: '', key: '', text: line };
  const utc = new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  return { time, key: `${utc}.${(m[2] ?? '').padEnd(9, '0')}`, text: line.slice(sp + 1) };
}

/** The short id of a pod in log prefixes: the random suffix Kubernetes gave its name. */
export function instanceId(pod: string): string {
  return pod.slice(pod.lastIndexOf('-') + 1);
}

/** One line as the user sees it. */
export function formatLogLine(process: string, pod: string, line: LogLine): string {
  return `${line.time || '-'} app[${process}.${instanceId(pod)}]: ${line.text}`;
}

/** The newest `n` lines of several pods' logs, merged in time order and formatted. */
export function mergeLogs(logs: readonly { process: string; pod: string; text: string }[], n: number): string[] {
  const all: { key: string; out: string }[] = [];
  for (const l of logs) {
    for (const raw of l.text.split('\n')) {
      if (raw === '') continue;
      const line = splitLogLine(raw);
      all.push({ key: line.key, out: formatLogLine(l.process, l.pod, line) });
    }
  }
  all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return all.slice(Math.max(0, all.length - n)).map((l) => l.out);
}
