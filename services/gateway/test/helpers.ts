/**
 * Gateway test helpers: start a gateway (its own NATS connection) on a test prefix next to a real
 * `dialogs` (services/dialogs/test/harness.ts), mint tokens, call the HTTP API.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { connectBus, createPresenceView, type NatsConnection, type PresenceView } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { createLogger, type Logger, silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { freePort, natsUrl, randomPrefix } from '@parley/testing';
import { SignJWT } from 'jose';
import { type StartDialogsOptions, type StartedDialogs, startDialogs } from '../../dialogs/test/harness.js';
import { createGateway, type Gateway } from '../src/app.js';
import { type GatewayConfig, gatewayConfigSpec } from '../src/config.js';

export const JWT_SECRET = 'gateway-test-secret-0123456789abcdef';
export const ADMIN_TOKEN = 'gateway-test-admin-token-0123456789';

/** presence timings of every test gateway and of the view given to `dialogs` */
export const PRESENCE_ENV = {
  PRESENCE_TTL_MS: '2000',
  PRESENCE_REFRESH_MS: '500',
  PRESENCE_RELIST_MS: '250',
};

export interface Backend {
  prefix: string;
  dialogs: StartedDialogs;
  /** the presence view `dialogs` reads `status_online` from (as the lead wires it in production) */
  presence: PresenceView;
  stop(): Promise<void>;
}

/** A real `dialogs` on a fresh database and prefix, with a presence view like production's. */
export async function startBackend(
  opts: Omit<StartDialogsOptions, 'prefix' | 'presence'> = {},
): Promise<Backend> {
  const prefix = randomPrefix();
  const nc = await connectBus({
    servers: [await natsUrl()],
    name: `presence-${prefix}`,
    logger: silentLogger(),
  });
  const s = subjects(prefix);
  const presence = createPresenceView(nc, s, {
    logger: silentLogger(),
    ttlMs: Number(PRESENCE_ENV.PRESENCE_TTL_MS),
    relistMs: Number(PRESENCE_ENV.PRESENCE_RELIST_MS),
  });
  await presence.start();
  const dialogs = await startDialogs({ ...opts, prefix, presence });
  return {
    prefix,
    dialogs,
    presence,
    async stop() {
      await dialogs.stop();
      await presence.stop();
      const jsm = await nc.jetstreamManager();
      for (const stream of [`KV_${s.presenceBucket}`, `OBJ_${s.filesBucket}`]) {
        await jsm.streams.delete(stream).catch(() => undefined);
      }
      await nc.drain().catch(() => nc.close());
    },
  };
}

export interface StartedGateway {
  gateway: Gateway;
  nc: NatsConnection;
  config: GatewayConfig;
  /** http://127.0.0.1:<port> */
  url: string;
  /** http://127.0.0.1:<METRICS_PORT> (internal: GET /metrics) */
  metricsUrl: string;
  stop(): Promise<void>;
}

export async function startGateway(
  prefix: string,
  env: Record<string, string> = {},
  logger: Logger = silentLogger(),
): Promise<StartedGateway> {
  // a port freePort() found can be taken (even as an outgoing connection's source port) before the
  // gateway binds it: try another one rather than fail the suite
  for (let attempt = 1; ; attempt++) {
    const { config } = parseConfig(gatewayConfigSpec, {
      PORT: '0',
      NATS_URL: await natsUrl(),
      SUBJECT_PREFIX: prefix,
      // max_bytes is reserved on the server: the 10 GiB default would let only a few suites run at once
      FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
      JWT_SECRET,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      REQUEST_TIMEOUT_MS: '3000',
      METRICS_PORT: String(await freePort()),
      // every test connects from 127.0.0.1, many times a second; the limit has its own test
      UPGRADES_PER_IP_PER_SEC: '0',
      ...PRESENCE_ENV,
      ...env,
    });
    const nc = await connectBus({ servers: config.NATS_URL, name: `gateway-test-${prefix}`, logger });
    const gateway = createGateway({ config, nc, logger });
    try {
      await gateway.start();
    } catch (err) {
      await gateway.stop().catch(() => undefined);
      await nc.close().catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5 && !env.METRICS_PORT) continue;
      throw err;
    }
    return started(gateway, nc, config);
  }
}

function started(gateway: Gateway, nc: NatsConnection, config: GatewayConfig): StartedGateway {
  return {
    gateway,
    nc,
    config,
    url: `http://127.0.0.1:${gateway.port()}`,
    metricsUrl: `http://127.0.0.1:${gateway.metricsPort()}`,
    async stop() {
      await gateway.stop();
      await nc.drain().catch(() => nc.close());
    },
  };
}

export interface TokenOptions {
  ttlSec?: number;
  secret?: string;
  /** use `sub` instead of `user_id` */
  sub?: boolean;
  claims?: Record<string, unknown>;
}

export async function mintToken(userId: number, opts: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = opts.sub
    ? { sub: String(userId) }
    : { user_id: userId, username: `user${userId}`, email: `user${userId}@example.com`, orig_iat: now };
  return new SignJWT({ ...claims, ...opts.claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(now + (opts.ttlSec ?? 3600))
    .sign(new TextEncoder().encode(opts.secret ?? JWT_SECRET));
}

/** A logger whose JSON lines are kept in memory (to assert what is never logged). */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger({ name: 'gateway', level: 'debug', destination }), lines };
}

export interface HttpAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON
  body: any;
  headers: Headers;
}

export async function http(
  url: string,
  init: { method?: string; token?: string; auth?: string; json?: unknown; body?: RequestInit['body'] } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `JWT ${init.token}`;
  if (init.auth) headers.authorization = init.auth;
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, ...(body ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** one raw request over TCP; resolves with what came back before the server closed or `ms` passed */
export function rawRequest(port: number, text: string | Buffer, ms = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
    socket.write(text);
  });
}
