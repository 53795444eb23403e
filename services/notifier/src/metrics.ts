/** The notifier's Prometheus metrics, on its own registry. */
import { Counter, Gauge, Registry } from 'prom-client';

export function createNotifierMetrics() {
  const registry = new Registry();
  return {
    registry,
    events: new Counter({
      name: 'parley_notifier_events_total',
      help: 'domain events handled, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    redeliveries: new Counter({
      name: 'parley_notifier_redeliveries_total',
      help: 'events delivered more than once',
      registers: [registry],
    }),
    pushes: new Counter({
      name: 'parley_notifier_pushes_total',
      help: 'groups of frames appended to a user feed',
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'parley_notifier_feed_duplicates_total',
      help: 'feed appends the stream recognised as already stored (a redelivered event)',
      registers: [registry],
    }),
    appendRetries: new Counter({
      name: 'parley_notifier_feed_append_retries_total',
      help: 'feed appends tried again in place after a failure (a stream leader away)',
      registers: [registry],
    }),
    staleCounters: new Counter({
      name: 'parley_notifier_stale_counter_frames_total',
      help: 'counter frames not appended: the feed already holds a newer version of that counter',
      registers: [registry],
    }),
    frames: new Counter({
      name: 'parley_notifier_frames_total',
      help: 'frames appended to user feeds, by event',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    coalesced: new Counter({
      name: 'parley_notifier_counter_frames_coalesced_total',
      help: 'counter frames replaced by a later value before they were sent',
      registers: [registry],
    }),
    partitions: new Gauge({
      name: 'parley_notifier_partitions',
      help: 'user partitions this instance consumes (they add up to 16 over the running instances)',
      registers: [registry],
    }),
  };
}

export type NotifierMetrics = ReturnType<typeof createNotifierMetrics>;
