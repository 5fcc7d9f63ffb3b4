// The numbers behind the dashboard's charts (web/src/components/chart-data.ts): axis tops, CPU
// text, the metrics stream's samples as one series per process type, push jobs as bars.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clock, cpuText, deployBars, niceMax, seriesOf } from '../../web/src/components/chart-data.ts';
import type { AppMetrics } from '../../server/shapes/processes.ts';

test('niceMax rounds an axis top up to 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceMax(0.7), 1);
  assert.equal(niceMax(13), 20);
  assert.equal(niceMax(20), 20);
  assert.equal(niceMax(420), 500);
  assert.equal(niceMax(501), 1000);
  assert.equal(niceMax(0), 1, 'an all-zero chart still has an axis');
  assert.equal(niceMax(Number.NaN), 1);
});

test('cpuText and clock', () => {
  assert.equal(cpuText(3.4), '3.4 m');
  assert.equal(cpuText(0.5), '0.5 m', 'an idle app\'s axis labels stay apart');
  assert.equal(cpuText(0), '0 m');
  assert.equal(cpuText(12.4), '12 m');
  assert.equal(cpuText(250), '250 m');
  assert.equal(cpuText(1500), '1.50 cores');
  assert.equal(cpuText(Number.NaN), '—');
  assert.equal(clock(Date.parse('2026-12-03T07:42:15.900Z')), '07:42:15');
});

test('seriesOf sums each process type over its pods, one point per sample that has the type', () => {
  const samples: AppMetrics[] = [
    { at: '2026-12-03T07:00:00Z', processes: [{ type: 'web', pods: [{ name: 'a', cpuMillicores: 10, memoryBytes: 100 }, { name: 'b', cpuMillicores: 5, memoryBytes: 50 }] }] },
    { at: '2026-12-03T07:00:15Z', processes: [{ type: 'web', pods: [{ name: 'a', cpuMillicores: 12, memoryBytes: 100 }] }, { type: 'worker', pods: [{ name: 'w', cpuMillicores: 40, memoryBytes: 7 }] }] },
  ];
  const t0 = Date.parse('2026-12-03T07:00:00Z');
  assert.deepEqual(seriesOf(samples, (p) => p.cpuMillicores), [
    { name: 'web', points: [{ t: t0, v: 15 }, { t: t0 + 15_000, v: 12 }] },
    { name: 'worker', points: [{ t: t0 + 15_000, v: 40 }] },
  ]);
  assert.deepEqual(seriesOf(samples, (p) => p.memoryBytes)[0]!.points.map((p) => p.v), [150, 100]);
  assert.deepEqual(seriesOf([], (p) => p.cpuMillicores), []);
});

test('deployBars: finished pushes only, oldest first, queued to finished, failures marked', () => {
  const job = (id: string, over: Record<string, unknown>) => ({
    id, kind: 'push', app: 'shop', by: 'alice', status: 'succeeded' as const, createdAt: '2026-12-03T07:00:00.000Z',
    startedAt: '2026-12-03T07:00:01.000Z', finishedAt: '2026-12-03T07:00:04.500Z', release: 1, error: null, credential: 'key', ...over,
  });
  const bars = deployBars([
    job('j3', { createdAt: '2026-12-03T07:10:00.000Z', finishedAt: '2026-12-03T07:10:09.000Z', status: 'failed', release: null }),
    job('j1', {}),
    job('j2', { kind: 'config:set', createdAt: '2026-12-03T07:05:00.000Z' }),
    job('j4', { status: 'running', finishedAt: null }),
  ]);
  assert.deepEqual(bars.map((b) => [b.label, b.value, b.bad]), [['v1', 4500, false], ['j3', 9000, true]]);
  assert.equal(bars[1]!.note, 'failed, pushed 2026-12-03 07:10 UTC by alice');
  const many = Array.from({ length: 30 }, (_, i) => job(`j${i}`, { release: i + 1, createdAt: new Date(Date.parse('2026-12-03T07:00:00Z') + i * 60_000).toISOString(), finishedAt: new Date(Date.parse('2026-12-03T07:00:02Z') + i * 60_000).toISOString() }));
  assert.deepEqual(deployBars(many, 20).map((b) => b.label), many.slice(10).map((j) => `v${j.release}`));
});
