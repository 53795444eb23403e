/** The printed result: Parley, the baseline measured in the same run, and the replaced stack's figure. */
import type { Finding } from './context.js';

const fmt = (v: number) =>
  Number.isNaN(v)
    ? 'n/a'
    : v >= 100
      ? v.toFixed(0)
      : v >= 10
        ? v.toFixed(1)
        : v >= 1
          ? v.toFixed(2)
          : v.toFixed(3);

/** how many times better than `other` Parley is (>1: better) */
function timesBetter(f: Finding, other: number): number {
  return f.better === 'higher' ? f.parley / other : other / f.parley;
}

export function renderTable(findings: readonly Finding[]): string {
  const head = ['metric', 'unit', 'Parley', 'same-run baseline', 'vs baseline', 'old stack', 'vs old stack'];
  const rows = findings.map((f) => {
    const vsOld = f.reference === undefined ? '' : timesBetter(f, f.reference);
    return [
      f.metric,
      f.unit,
      fmt(f.parley),
      f.baseline ? `${fmt(f.baseline.value)} (${f.baseline.what})` : '',
      f.baseline ? `${fmt(timesBetter(f, f.baseline.value))}×` : '',
      f.reference === undefined ? '' : fmt(f.reference),
      vsOld === '' ? '' : `${fmt(vsOld)}× ${vsOld >= 10 ? 'ok >10×' : 'MISSES 10×'}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  const notes = findings.filter((f) => f.note).map((f) => `- ${f.metric}: ${f.note}`);
  return [...out, '', ...notes].join('\n');
}

export const LEGEND = [
  '"vs" columns: how many times better Parley is (higher is better for throughput, lower for latency and memory;',
  'below 1× means Parley is behind). Old stack: Daphne + sync Channels consumer + channels_redis + PostgreSQL,',
  'measured on this kind of machine (TOOLCHAIN.md): ≤ ~60 creates/s, delivery p99 ~360 ms, ~41–45 KiB/socket,',
  'unread count ~1.1 ms per dialog of the user.',
].join('\n');
