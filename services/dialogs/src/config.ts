/** Every environment variable the dialogs service reads, declared once (PROTOCOL.md §7). */
import { type ConfigOf, limitVars, localeVars, logVars, natsVars, parsers, urlVars } from '@parley/config';

export const dialogsConfigSpec = {
  ...natsVars,
  ...logVars,
  ...localeVars,
  ...urlVars,
  ...limitVars,
  MYSQL_URL: {
    doc: 'mysql://user:pass@host:port/database of the dialogs service (MySQL 8 or MariaDB 10.6+)',
    default: 'mysql://root@127.0.0.1:3306/parley',
    parse: parsers.url('mysql', 'mariadb'),
    secret: true,
  },
  DB_POOL_SIZE: {
    doc: 'connections in the database pool of one dialogs instance',
    default: '10',
    parse: parsers.int(1, 500),
  },
  DB_GROUP_COMMIT_MAX: {
    doc: 'most message creates one transaction of this instance carries together (group commit; 1 = each create its own transaction)',
    default: '64',
    parse: parsers.int(1, 256),
  },
  OUTBOX_RELAY: {
    doc: 'run the outbox relay in this instance (several instances may; they take turns)',
    default: 'true',
    parse: parsers.bool,
  },
  OUTBOX_POLL_MS: {
    doc: 'how often the outbox relay looks for events nobody poked it about (catch-up after a crash or outage)',
    default: '1000',
    parse: parsers.int(10, 600_000),
  },
  MAX_OFFSET: {
    doc: 'largest `offset` of `dialogs.load` (beyond it: validation_error on offset); bounds the rows a deep dialog-list page reads',
    default: '100000',
    parse: parsers.int(0, 1_000_000_000),
  },
  RPC_CONCURRENCY: {
    doc: 'requests one dialogs instance handles at once',
    default: '64',
    parse: parsers.int(1, 10_000),
  },
  FILES_UNATTACHED_TTL_HOURS: {
    doc: 'uploads no message carries are deleted (row and bytes) this many hours after upload',
    default: '24',
    parse: parsers.number(0.0001, 24 * 366),
  },
  METRICS_PORT: {
    doc: 'port of the internal telemetry endpoint: GET /metrics (Prometheus), /healthz, /readyz (200 once NATS and the database are usable); 0 = off',
    default: '0',
    parse: parsers.int(0, 65_535),
  },
  FILES_SWEEP_INTERVAL_MS: {
    doc: 'how often this instance looks for expired unattached uploads, ms (0 = never)',
    default: '600000',
    parse: parsers.int(0, 86_400_000),
  },
} as const;

export type DialogsConfig = ConfigOf<typeof dialogsConfigSpec>;
