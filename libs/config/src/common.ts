/** Variables every service shares (PROTOCOL.md §7). */
import { type ConfigSpec, parsers } from './define.js';
import { DEVELOPMENT_JWT_SECRET } from './secrets.js';

export const natsVars = {
  NATS_URL: {
    doc: 'NATS server(s), comma list',
    default: 'nats://127.0.0.1:4222',
    parse: parsers.list,
  },
  SUBJECT_PREFIX: {
    doc: 'prefix of every NATS subject, stream and bucket',
    default: 'parley',
    parse: (raw: string) => {
      if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(raw))
        throw new Error('expected letters, digits, _ - and dots');
      return raw;
    },
  },
  NATS_REPLICAS: {
    doc: 'replicas of every stream, KV bucket and object store the services create (1 on a single server, 3 on a three-node cluster); an existing one with fewer is raised at start, never lowered',
    default: '1',
    parse: parsers.int(1, 5),
  },
} satisfies ConfigSpec;

export const logVars = {
  LOG_LEVEL: {
    doc: 'pino log level',
    default: 'info',
    parse: parsers.oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'),
  },
  LOG_PRETTY: {
    doc: 'human-readable logs instead of JSON lines',
    default: 'false',
    parse: parsers.bool,
  },
} satisfies ConfigSpec;

export const localeVars = {
  MESSAGES_LOCALE: {
    doc: 'language of human sentences: ru or en',
    default: 'ru',
    parse: parsers.oneOf('ru', 'en'),
  },
  TIME_ZONE: {
    doc: 'IANA zone of dates on the wire',
    default: 'UTC',
    parse: (raw: string) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: raw });
      } catch {
        throw new Error('expected an IANA time zone');
      }
      return raw;
    },
  },
} satisfies ConfigSpec;

export const urlVars = {
  PUBLIC_URL: {
    doc: 'absolute base of this API (file URLs)',
    default: 'http://localhost:8000',
    parse: parsers.url('http', 'https'),
  },
  APP_URL: {
    doc: "the platform's web app (links in e-mail)",
    default: 'http://localhost:8000',
    parse: parsers.url('http', 'https'),
  },
} satisfies ConfigSpec;

export const limitVars = {
  MAX_BODY_CHARS: {
    doc: 'longest message body, in characters',
    default: '10000',
    parse: parsers.int(1, 100_000),
  },
} satisfies ConfigSpec;

export const runtimeVars = {
  NODE_ENV: {
    doc: '`production` refuses to start without strong secrets: JWT_SECRET (and the gateway’s ADMIN_TOKEN) must be set, at least 32 bytes, and not a value written in the repository',
    default: 'development',
    parse: (raw: string) => raw.trim(),
  },
} satisfies ConfigSpec;

export const authVars = {
  JWT_SECRET: {
    doc: 'HS256 secret shared with the platform that issues tokens; also keys e-mail unsubscribe links',
    devDefault: DEVELOPMENT_JWT_SECRET,
    secret: true,
    productionSecret: true,
    parse: (raw: string) => {
      if (raw.length < 16) throw new Error('expected at least 16 characters');
      return raw;
    },
  },
} satisfies ConfigSpec;

/** The per-user feed of PROTOCOL.md §8 (the notifier writes it; gateways replay it). */
export const feedVars = {
  FEED_RETENTION_HOURS: {
    doc: 'how long pushes stay replayable with `sync` (the feed stream max_age), hours; fractions allowed',
    default: '168',
    parse: parsers.number(1 / 3600, 24 * 365),
  },
} satisfies ConfigSpec;
