/** Every environment variable the notifier reads, declared once (parsed in main.ts). */
import { type ConfigOf, feedVars, logVars, natsVars, parsers } from '@parley/config';

export const notifierConfigSpec = {
  ...natsVars,
  ...logVars,
  ...feedVars,
  FEED_DUPLICATE_WINDOW_SECONDS: {
    doc: 'how long a redelivered event is recognised when it is pushed again (the feed stream duplicate window; capped at the retention)',
    default: '900',
    parse: parsers.int(1, 7 * 24 * 3600),
  },
  PUSH_COALESCE_MS: {
    doc: 'counter frames of one user go at most once per this window (the latest values); message frames are never held',
    default: '250',
    parse: parsers.int(0, 10_000),
  },
  LEADER_LEASE_SECONDS: {
    doc: 'how long the user partitions of a crashed notifier wait before the other instances take them over',
    default: '5',
    parse: parsers.number(0.3, 300),
  },
  METRICS_PORT: {
    doc: 'port of the Prometheus /metrics endpoint; 0 = off',
    default: '0',
    parse: parsers.int(0, 65_535),
  },
};

export type NotifierConfig = ConfigOf<typeof notifierConfigSpec>;
