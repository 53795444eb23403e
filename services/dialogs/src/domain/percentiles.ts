/**
 * Response-time figures of PROTOCOL.md §9: nearest-rank percentiles (the smallest sample with at
 * least p% of the samples at or below it: rank ⌈p/100 · n⌉), and the maximum; null without samples.
 */
export function nearestRank(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function figures(samples: number[]): {
  count: number;
  p50_s: number | null;
  p90_s: number | null;
  max_s: number | null;
} {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50_s: nearestRank(sorted, 50),
    p90_s: nearestRank(sorted, 90),
    max_s: sorted.length ? sorted[sorted.length - 1]! : null,
  };
}
