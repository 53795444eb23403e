/**
 * The newest counters version this notifier knows to be in each (user, counter) of the feed, so it
 * never appends a counter frame older than one already there (PROTOCOL.md §8: counters never go
 * backwards, a replay included). Such a frame appears when an event is redelivered after its newer
 * successor's counters were written (a crash, a partial failure). Entries live as long as the feed's
 * duplicate window (a redelivery later than that is not recognised anyway); a notifier taking over
 * seeds the memory from the counter entries of that window (libs/bus scanFeedCounters).
 */
export interface CounterVersions {
  /** true when `version` is not older than what the feed holds for this counter (and remember it) */
  admit(userId: number, key: string, version: number): boolean;
  /** what a scan of the feed found */
  seed(userId: number, key: string, version: number): void;
  size(): number;
  dispose(): void;
}

export function createCounterVersions(ttlMs: number): CounterVersions {
  const known = new Map<string, { version: number; at: number }>();
  const note = (id: string, version: number) => {
    const prev = known.get(id);
    if (!prev || version >= prev.version) known.set(id, { version, at: Date.now() });
  };
  const sweeper = setInterval(
    () => {
      const old = Date.now() - ttlMs;
      for (const [id, v] of known) if (v.at < old) known.delete(id);
    },
    Math.max(1_000, Math.min(ttlMs, 60_000)),
  );
  sweeper.unref();
  return {
    admit(userId, key, version) {
      const id = `${userId}:${key}`;
      const prev = known.get(id);
      if (prev && version < prev.version) return false;
      note(id, version);
      return true;
    },
    seed: (userId, key, version) => note(`${userId}:${key}`, version),
    size: () => known.size,
    dispose() {
      clearInterval(sweeper);
      known.clear();
    },
  };
}
