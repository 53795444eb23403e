/** The gateway's environment variables, declared once (PROTOCOL.md §7). */
import { randomBytes } from 'node:crypto';
import {
  authVars,
  type ConfigOf,
  type ConfigSpec,
  feedVars,
  limitVars,
  localeVars,
  logVars,
  natsVars,
  parsers,
  runtimeVars,
  urlVars,
} from '@parley/config';

export const gatewayConfigSpec = {
  PORT: {
    doc: 'HTTP/WebSocket port (0: a random free port)',
    default: '8000',
    parse: parsers.int(0, 65_535),
  },
  ...natsVars,
  ...logVars,
  ...feedVars,
  MESSAGES_LOCALE: localeVars.MESSAGES_LOCALE,
  NODE_ENV: runtimeVars.NODE_ENV,
  JWT_SECRET: authVars.JWT_SECRET,
  JWT_ISSUER: {
    doc: 'when set, a token’s `iss` must equal it (401 otherwise)',
    default: '-',
    parse: parsers.optional(parsers.string),
  },
  JWT_AUDIENCE: {
    doc: 'when set, a token’s `aud` must be or contain it (401 otherwise)',
    default: '-',
    parse: parsers.optional(parsers.string),
  },
  JWT_MAX_LIFETIME_SECONDS: {
    doc: 'when set, a token whose `exp` lies more than this after its `iat` (else `orig_iat`, else now) is refused (401)',
    default: '-',
    parse: parsers.optional(parsers.int(1, 10 * 365 * 86_400)),
  },
  ADMIN_TOKEN: {
    doc: 'bearer token of the admin API; unset: every admin call is refused (required in production)',
    default: '-',
    secret: true,
    productionSecret: true,
    parse: parsers.optional((raw: string) => {
      if (raw.length < 16) throw new Error('expected at least 16 characters');
      return raw;
    }),
  },
  PUBLIC_URL: urlVars.PUBLIC_URL,
  METRICS_PORT: {
    doc: 'internal port of the Prometheus /metrics endpoint (never the public PORT); 0 = off',
    default: '0',
    parse: parsers.int(0, 65_535),
  },
  HTTP_RATE_LIMIT_PER_MIN: {
    doc: 'HTTP requests per minute on each route, per user (per address when anonymous); over it: 429',
    default: '600',
    parse: parsers.int(1, 10_000_000),
  },
  NEW_MESSAGE_RATE_LIMIT_PER_HOUR: {
    doc: 'POST /api/dialogs/new-message/ calls per user per hour (each may e-mail support); over it: 429',
    default: '20',
    parse: parsers.int(1, 1_000_000),
  },
  FILES_BUCKET_MAX_BYTES: {
    doc: 'byte limit of the files object store (max_bytes); a full store refuses uploads (503)',
    default: String(10 * 1024 * 1024 * 1024),
    parse: parsers.int(1024, Number.MAX_SAFE_INTEGER),
  },
  UPLOAD_BYTES_PER_USER_PER_DAY: {
    doc: 'bytes a user may upload in 24 hours (rolling); over it: 429 rate_limited, checked before storing',
    default: String(200 * 1024 * 1024),
    parse: parsers.int(1, Number.MAX_SAFE_INTEGER),
  },
  MAX_UPLOAD_BYTES: {
    doc: 'largest accepted upload, in bytes (over it: 413)',
    default: String(10 * 1024 * 1024),
    parse: parsers.int(1, 1024 * 1024 * 1024),
  },
  /** also caps HTTP JSON bodies: 4 bytes per character plus 4 KiB */
  MAX_BODY_CHARS: limitVars.MAX_BODY_CHARS,
  ALLOWED_ORIGINS: {
    doc: 'comma list of browser origins allowed to open a WebSocket and, by CORS, to call the HTTP API; unset: any origin (WebSocket), none (CORS)',
    default: '-',
    parse: parsers.optional(parsers.list),
  },
  REQUEST_TIMEOUT_MS: {
    doc: 'how long to wait for the dialogs service before answering `unavailable`, ms',
    default: '5000',
    parse: parsers.int(50, 120_000),
  },
  MAX_FRAME_BYTES: {
    doc: 'largest client frame, in bytes (over it: close 1009)',
    default: String(256 * 1024),
    parse: parsers.int(1024, 16 * 1024 * 1024),
  },
  RATE_LIMIT_PER_SEC: {
    doc: 'frames per second a connection may send on average',
    default: '20',
    parse: parsers.number(0.1, 100_000),
  },
  RATE_LIMIT_BURST: {
    doc: 'frames a connection may send at once; as many refused frames in a row close it (1008)',
    default: '40',
    parse: parsers.int(1, 100_000),
  },
  MAX_BUFFERED_BYTES: {
    doc: 'bytes queued to a slow reader before its socket is closed (1013)',
    default: String(4 * 1024 * 1024),
    parse: parsers.int(1024, 1024 * 1024 * 1024),
  },
  MAX_QUEUED_FRAMES: {
    doc: 'frames of one connection waiting behind the one being answered; one more closes it (4429)',
    default: '64',
    parse: parsers.int(1, 1_000_000),
  },
  MAX_QUEUED_BYTES: {
    doc: 'bytes of the frames of one connection waiting behind the one being answered; more closes it (4429)',
    default: String(1024 * 1024),
    parse: parsers.int(1024, 1024 * 1024 * 1024),
  },
  MAX_SOCKETS_PER_USER: {
    doc: 'open sockets one user may hold on this gateway instance; one more upgrade is refused with 429',
    default: '20',
    parse: parsers.int(1, 1_000_000),
  },
  UPGRADES_PER_IP_PER_SEC: {
    doc: 'WebSocket upgrades one client address may start per second (over it: 429); 0: no limit. Behind a proxy every client has its address: raise it or use 0',
    default: '30',
    parse: parsers.int(0, 1_000_000),
  },
  HEARTBEAT_MS: {
    doc: 'ping interval; a peer that misses one pong is dropped',
    default: '30000',
    parse: parsers.int(50, 3_600_000),
  },
  GATEWAY_ID: {
    doc: 'this instance’s id in presence keys (letters, digits, _ and -); default: random',
    default: '-',
    parse: (raw: string) => {
      if (raw === '-') return `gw-${randomBytes(6).toString('hex')}`;
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw))
        throw new Error('expected letters, digits, _ and - (at most 64)');
      return raw;
    },
  },
  PRESENCE_TTL_MS: {
    doc: 'how long a crashed gateway’s users stay online (presence bucket max_age), ms',
    default: '30000',
    parse: parsers.int(500, 3_600_000),
  },
  PRESENCE_REFRESH_MS: {
    doc: 'how often presence keys are refreshed (well under PRESENCE_TTL_MS), ms',
    default: '10000',
    parse: parsers.int(100, 3_600_000),
  },
  PRESENCE_RELIST_MS: {
    doc: 'how often the presence view re-lists keys to notice expired ones, ms',
    default: '5000',
    parse: parsers.int(100, 3_600_000),
  },
} satisfies ConfigSpec;

export type GatewayConfig = ConfigOf<typeof gatewayConfigSpec>;
