/**
 * The gateway: one HTTP server (fastify) for the WebSocket upgrade (/ws/) and the HTTP API
 * (PROTOCOL.md §1, §2, §5); Prometheus metrics on the internal METRICS_PORT only. It talks to
 * `dialogs` only through NATS requests. Nothing happens at construction. start() binds the port
 * first (http/starting.ts answers: /healthz 200, /readyz and the rest 503), then waits for the
 * NATS connection and opens the stores (retried with backoff, however long NATS is away), builds
 * the HTTP app and hands the bound server over to it; stop() drains gracefully.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type BusConnection,
  ensureFeedStream,
  type FileStore,
  openFileStore,
  openPresenceBucket,
  retry,
  type Service,
  type Subscription,
  subscribeUserDeactivated,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import { subjects as makeSubjects } from '@parley/protocol';
import { type MetricsEndpoint, serveMetrics } from '@parley/telemetry';
import type { FastifyInstance } from 'fastify';
import { createTokenVerifier } from './auth/verify.js';
import { type BusParts, createBusParts } from './bus-parts.js';
import type { GatewayConfig } from './config.js';
import { isAdmin, rateKeyOf } from './http/auth.js';
import { createClientFiles } from './http/client.js';
import { createHttpApp } from './http/server.js';
import { createStartingResponder } from './http/starting.js';
import { createMetrics } from './metrics.js';

export interface GatewayDeps {
  config: GatewayConfig;
  /** the connection, or connectBus's promise of it (start() listens before it waits for it) */
  nc: BusConnection;
  logger: Logger;
}

export type Gateway = Service & {
  /** the HTTP server (after start()) */
  readonly server: Server;
  port(): number;
  /** the internal metrics port while started (null when METRICS_PORT is 0) */
  metricsPort(): number | null;
  /** the HTTP routes registered (after start()), to check the OpenAPI document against */
  httpRoutes(): Array<{ method: string; url: string }>;
};

/** the version of the HTTP API in its OpenAPI document */
const API_VERSION = '1.0.0';

/** how long stop() waits for HTTP requests in flight before cutting them */
const HTTP_GRACE_MS = 10_000;

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function createGateway(deps: GatewayDeps): Gateway {
  const { config } = deps;
  const logger = deps.logger.child({ gateway_id: config.GATEWAY_ID });
  const subjects = makeSubjects(config.SUBJECT_PREFIX);
  const metrics = createMetrics();
  const verify = createTokenVerifier(config.JWT_SECRET, {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    maxLifetimeSec: config.JWT_MAX_LIFETIME_SECONDS,
  });
  const locale = config.MESSAGES_LOCALE;
  const maxJsonBytes = config.MAX_BODY_CHARS * 4 + 4096;
  const clientFiles = createClientFiles();
  const starting = createStartingResponder(locale);

  let server: Server | undefined;
  let onRequest: RequestHandler = starting.request;
  let onUpgrade: UpgradeHandler = starting.upgrade;
  let parts: BusParts | undefined;
  let deactivations: Subscription | undefined;
  let fileStore: FileStore | undefined;
  let http: FastifyInstance | undefined;
  let registered: Array<{ method: string; url: string }> = [];
  let metricsEndpoint: MetricsEndpoint | null = null;
  const files = () => {
    if (!fileStore) throw new Error('file store not open');
    return fileStore;
  };

  return {
    get server() {
      if (!server) throw new Error('gateway is not started');
      return server;
    },
    port() {
      const addr = server?.address() as AddressInfo | null | undefined;
      if (!addr) throw new Error('gateway is not listening');
      return addr.port;
    },
    metricsPort: () => metricsEndpoint?.port ?? null,
    httpRoutes: () => [...registered],
    async start() {
      await clientFiles.load();
      // the port answers from the start: alive, not ready, until the app below takes over
      const listening = createServer((req, res) => onRequest(req, res));
      listening.on('upgrade', (req, socket, head) => onUpgrade(req, socket, head));
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        // like node's default: every interface (IPv6 and IPv4 where available)
        listening.listen(config.PORT, () => {
          listening.off('error', reject);
          resolve();
        });
      });
      metricsEndpoint = await serveMetrics(metrics.registry, config.METRICS_PORT, logger, {
        ready: () => http !== undefined && parts !== undefined && !parts.nc.isClosed(),
      });
      logger.info({ port: this.port() }, 'gateway starting: port open, waiting for NATS');

      // NATS, a node or the JetStream meta leader away at start is waited out (/readyz says 503 meanwhile)
      const nc = await deps.nc;
      const bus = createBusParts({ nc, config, logger, metrics, verify, files, clientFiles });
      parts = bus;
      fileStore = await retry(
        () =>
          openFileStore(nc, subjects, {
            maxBytes: config.FILES_BUCKET_MAX_BYTES,
            replicas: config.NATS_REPLICAS,
          }),
        { what: 'files bucket', logger },
      );
      // the notifier owns the feed stream's limits; a gateway only makes sure replays find it
      await retry(
        () =>
          ensureFeedStream(nc, subjects, {
            retentionMs: config.FEED_RETENTION_HOURS * 3_600_000,
            duplicateWindowMs: 15 * 60_000,
            replicas: config.NATS_REPLICAS,
          }),
        { what: 'feed stream', logger },
      );
      await retry(
        () =>
          openPresenceBucket(nc, subjects, { ttlMs: config.PRESENCE_TTL_MS, replicas: config.NATS_REPLICAS }),
        { what: 'presence bucket', logger },
      );
      await bus.presence.start();
      deactivations = subscribeUserDeactivated(nc, subjects, (userId) => bus.ws.deactivate(userId));
      await nc.flush();
      if (!config.ALLOWED_ORIGINS) {
        logger.warn('ALLOWED_ORIGINS is not set: WebSocket connections are accepted from any origin');
      }
      let appHandler: RequestHandler | undefined;
      const built = await createHttpApp({
        routes: bus.routes,
        logger,
        metrics,
        locale,
        maxJsonBytes,
        limits: {
          generalPerMin: config.HTTP_RATE_LIMIT_PER_MIN,
          newMessagePerHour: config.NEW_MESSAGE_RATE_LIMIT_PER_HOUR,
        },
        rateKey: rateKeyOf(verify),
        unlimited: (request) => isAdmin(config.ADMIN_TOKEN, request),
        allowedOrigins: config.ALLOWED_ORIGINS,
        version: API_VERSION,
        subjectPrefix: config.SUBJECT_PREFIX,
        serverFactory: (handler) => {
          appHandler = handler;
          return listening;
        },
      });
      http = built.app;
      registered = built.registered;
      await http.ready();
      // the bound server is the app's from now on; the WebSocket upgrade stays on the same port
      if (appHandler) onRequest = appHandler;
      onUpgrade = (req, socket, head) => bus.ws.handleUpgrade(req, socket, head);
      logger.info({ port: this.port() }, 'gateway listening');
    },
    async stop() {
      const app = http;
      const listening = server;
      // no new connections; the app's in-flight requests finish (or are cut after the grace period)
      const serverClosed = listening?.listening
        ? new Promise<void>((resolve) => listening.close(() => resolve()))
        : Promise.resolve();
      const appClosed = app ? app.close() : Promise.resolve();
      deactivations?.unsubscribe();
      await parts?.ws.stop();
      await parts?.hub.stop();
      await parts?.presence.stop();
      const timer = setTimeout(() => listening?.closeAllConnections(), HTTP_GRACE_MS);
      timer.unref();
      await appClosed;
      await serverClosed;
      clearTimeout(timer);
      await metricsEndpoint?.close();
      metricsEndpoint = null;
      logger.info('gateway stopped');
    },
  };
}
