// Small SVG charts of our own (a line chart over time, a bar chart), each with a table of the same
// numbers for screen readers and keyboard users: the picture is role="img" with a one-line summary,
// and the table sits in a <details> below it. Colours come from the stylesheet's variables through
// CSSOM style properties (the CSP allows no inline style attributes), and series also differ by
// dash pattern, so they stay apart without colour.
import type { ComponentChildren } from 'preact';
import { clock, niceMax, type Bar, type Series } from './chart-data.ts';

export type { Bar, Series };

const W = 640;
const H = 200;
const PAD = { left: 64, right: 12, top: 26, bottom: 28 };
const COLOURS = ['var(--link)', 'var(--ok-fg)', 'var(--focus)', 'var(--bad-fg)', 'var(--muted)'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 2'];
const TEXT = { fill: 'var(--muted)', fontSize: '11px' };
const GRID = { stroke: 'var(--line)', strokeWidth: '1' };
// Drawn at its own size at most: scaled up, the labels would outgrow the page's text.
const SVG = { display: 'block', width: '100%', maxWidth: `${W}px`, height: 'auto' };

/** The frame both charts share: the figure, its caption, the picture and the table of its numbers. */
function Figure({ title, summary, table, children }: { title: string; summary: string; table: ComponentChildren; children: ComponentChildren }) {
  return (
    <figure class="chart">
      <figcaption><strong>{title}</strong></figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${summary}`} style={SVG}>
        {children}
      </svg>
      <details>
        <summary>{title} as a table</summary>
        {table}
      </details>
    </figure>
  );
}

/** Horizontal grid lines with their values at 0, half and the top of the axis. */
function YAxis({ top, format }: { top: number; format: (v: number) => string }) {
  const innerH = H - PAD.top - PAD.bottom;
  return (
    <g aria-hidden="true">
      {[0, 0.5, 1].map((f) => {
        const y = PAD.top + innerH * (1 - f);
        return (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} style={GRID} />
            <text x={PAD.left - 6} y={y + 4} text-anchor="end" style={TEXT}>{format(top * f)}</text>
          </g>
        );
      })}
    </g>
  );
}

/** Lines over time (one per series), with the time of the first and last point under them. */
export function LineChart({ title, series, format, unit = 1, empty = 'No data yet.' }: { title: string; series: Series[]; format: (v: number) => string; unit?: number; empty?: string }) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return <p class="hint">{title}: {empty}</p>;
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t));
  // The axis top is a round number of `unit`s (a MiB for memory), so its labels read well.
  const top = niceMax(Math.max(...all.map((p) => p.v)) / unit) * unit;
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + (t1 === t0 ? innerW : ((t - t0) / (t1 - t0)) * innerW);
  const y = (v: number) => PAD.top + innerH * (1 - v / top);
  const latest = series.map((s) => `${s.name} ${s.points.length ? format(s.points.at(-1)!.v) : 'no data'}`).join(', ');
  const times = [...new Set(all.map((p) => p.t))].sort((a, b) => a - b);
  const table = (
    <table>
      <thead><tr><th scope="col">Time (UTC)</th>{series.map((s) => <th key={s.name} scope="col">{s.name}</th>)}</tr></thead>
      <tbody>
        {times.map((t) => (
          <tr key={t}>
            <th scope="row">{clock(t)}</th>
            {series.map((s) => {
              const p = s.points.find((q) => q.t === t);
              return <td key={s.name} class="num">{p ? format(p.v) : '—'}</td>;
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
  return (
    <Figure title={title} summary={`latest ${latest}`} table={table}>
      <YAxis top={top} format={format} />
      <g aria-hidden="true">
        <text x={PAD.left} y={H - 8} style={TEXT}>{clock(t0)}</text>
        <text x={W - PAD.right} y={H - 8} text-anchor="end" style={TEXT}>{clock(t1)}</text>
      </g>
      {series.map((s, i) => {
        const stroke = { stroke: COLOURS[i % COLOURS.length], strokeWidth: '2', fill: 'none', strokeDasharray: DASHES[i % DASHES.length] };
        const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
        return (
          <g key={s.name} aria-hidden="true">
            {s.points.length > 1 && <polyline points={pts} style={stroke} />}
            {s.points.length === 1 && <circle cx={x(s.points[0]!.t)} cy={y(s.points[0]!.v)} r="3" style={{ fill: COLOURS[i % COLOURS.length] }} />}
          </g>
        );
      })}
      {series.length > 1 && (
        <g aria-hidden="true">
          {series.map((s, i) => (
            <g key={s.name} transform={`translate(${PAD.left + 8 + i * 110}, 9)`}>
              <line x1="0" x2="18" y1="0" y2="0" style={{ stroke: COLOURS[i % COLOURS.length], strokeWidth: '2', strokeDasharray: DASHES[i % DASHES.length] }} />
              <text x="22" y="4" style={{ ...TEXT, fill: 'var(--fg)' }}>{s.name}</text>
            </g>
          ))}
        </g>
      )}
    </Figure>
  );
}

/** Vertical bars, oldest first, each labelled under it; the table lists each bar with its note. */
export function BarChart({ title, bars, format, category = 'Item', label = 'Value', empty = 'No data yet.' }: { title: string; bars: Bar[]; format: (v: number) => string; category?: string; label?: string; empty?: string }) {
  if (bars.length === 0) return <p class="hint">{title}: {empty}</p>;
  const top = niceMax(Math.max(...bars.map((b) => b.value)));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / bars.length;
  const width = Math.max(2, Math.min(40, slot * 0.7));
  const values = bars.map((b) => b.value);
  const mid = [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const table = (
    <table>
      <thead><tr><th scope="col">{category}</th><th scope="col">{label}</th><th scope="col">Note</th></tr></thead>
      <tbody>
        {bars.map((b, i) => <tr key={i}><th scope="row">{b.label}</th><td class="num">{format(b.value)}</td><td>{b.note ?? ''}</td></tr>)}
      </tbody>
    </table>
  );
  return (
    <Figure title={title} summary={`${bars.length} values, median ${format(mid)}, last ${format(bars.at(-1)!.value)}`} table={table}>
      <YAxis top={top} format={format} />
      {bars.map((b, i) => {
        const h = (b.value / top) * innerH;
        const cx = PAD.left + slot * (i + 0.5);
        return (
          <g key={i} aria-hidden="true">
            <rect x={cx - width / 2} y={PAD.top + innerH - h} width={width} height={Math.max(h, 1)} style={{ fill: b.bad ? 'var(--danger)' : 'var(--accent)' }}>
              <title>{`${b.label}: ${format(b.value)}${b.note ? ` (${b.note})` : ''}`}</title>
            </rect>
            {(bars.length <= 12 || i % Math.ceil(bars.length / 12) === 0) && <text x={cx} y={H - 8} text-anchor="middle" style={TEXT}>{b.label}</text>}
          </g>
        );
      })}
    </Figure>
  );
}
