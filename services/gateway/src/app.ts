/**
 * The gateway: one HTTP server for the WebSocket upgrade (/ws/) and the HTTP API (PROTOCOL.md §1,
 * §2, §5). It talks to `dialogs` only through NATS requests. Nothing happens at construction;
 * start() opens the stores, starts presence and listens; stop() drains gracefully.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createRpcClient,
  type FileStore,
  type NatsConnection,
  openFileStore,
  type Service,
  type Subscription,
  subscribeUserDeactivated,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import { subjects as makeSubjects } from '@parley/protocol';
import { createAuthenticator } from './auth/authenticate.js';
import { createTokenVerifier } from './auth/verify.js';
import type { GatewayConfig } from './config.js';
import { adminRoutes } from './http/admin.js';
import { apiRoutes } from './http/api.js';
import { clientRoutes, createClientFiles } from './http/client.js';
import { filesRoutes } from './http/files.js';
import { healthRoutes } from './http/health.js';
import { mediaRoutes } from './http/media.js';
import { createRouter } from './http/router.js';
import { unsubscribeRoutes } from './http/unsubscribe.js';
import { createMetrics } from './metrics.js';
import { createHub } from './ws/hub.js';
import { createGatewayPresence } from './ws/presence.js';
import { createWsServer } from './ws/server.js';

export interface GatewayDeps {
  config: GatewayConfig;
  nc: NatsConnection;
  logger: Logger;
}

export type Gateway = Service & { server: Server; port(): number };

/** how long stop() waits for HTTP requests in flight before cutting them */
const HTTP_GRACE_MS = 10_000;

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, nc } = deps;
  const logger = deps.logger.child({ gateway_id: config.GATEWAY_ID });
  const subjects = makeSubjects(config.SUBJECT_PREFIX);
  const rpc = createRpcClient(nc, subjects, { timeoutMs: config.REQUEST_TIMEOUT_MS });
  const metrics = createMetrics();
  const verify = createTokenVerifier(config.JWT_SECRET, {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    maxLifetimeSec: config.JWT_MAX_LIFETIME_SECONDS,
  });
  const authenticate = createAuthenticator(verify, rpc);
  const locale = config.MESSAGES_LOCALE;
  const maxJsonBytes = config.MAX_BODY_CHARS * 4 + 4096;

  const presence = createGatewayPresence({
    nc,
    subjects,
    rpc,
    logger,
    gatewayId: config.GATEWAY_ID,
    ttlMs: config.PRESENCE_TTL_MS,
    refreshMs: config.PRESENCE_REFRESH_MS,
    relistMs: config.PRESENCE_RELIST_MS,
  });
  const hub = createHub({
    nc,
    subjects,
    logger,
    metrics,
    onFirst: (userId) => presence.set(userId, true),
    onLast: (userId) => void presence.set(userId, false),
  });
  const ws = createWsServer({
    authenticate,
    hub,
    rpc,
    metrics,
    logger,
    locale,
    limits: {
      ratePerSec: config.RATE_LIMIT_PER_SEC,
      burst: config.RATE_LIMIT_BURST,
      maxBufferedBytes: config.MAX_BUFFERED_BYTES,
      maxQueuedFrames: config.MAX_QUEUED_FRAMES,
      maxQueuedBytes: config.MAX_QUEUED_BYTES,
    },
    maxSocketsPerUser: config.MAX_SOCKETS_PER_USER,
    upgradesPerIpPerSec: config.UPGRADES_PER_IP_PER_SEC,
    maxFrameBytes: config.MAX_FRAME_BYTES,
    heartbeatMs: config.HEARTBEAT_MS,
    allowedOrigins: config.ALLOWED_ORIGINS,
  });

  let deactivations: Subscription | undefined;
  let fileStore: FileStore | undefined;
  const files = () => {
    if (!fileStore) throw new Error('file store not open');
    return fileStore;
  };
  const clientFiles = createClientFiles();
  const router = createRouter({
    logger,
    metrics,
    locale,
    routes: [
      ...healthRoutes({
        nc,
        rpc,
        registry: metrics.registry,
        probeTimeoutMs: Math.min(1_000, config.REQUEST_TIMEOUT_MS),
      }),
      ...filesRoutes({ rpc, authenticate, files, maxUploadBytes: config.MAX_UPLOAD_BYTES }),
      ...mediaRoutes({ rpc, files }),
      ...apiRoutes({ rpc, authenticate, maxJsonBytes }),
      ...adminRoutes({ rpc, adminToken: config.ADMIN_TOKEN, maxJsonBytes }),
      ...unsubscribeRoutes({ rpc, secret: config.JWT_SECRET, locale }),
      ...clientRoutes(clientFiles),
    ],
  });
  const server = createServer(router);
  server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  return {
    server,
    port() {
      const addr = server.address() as AddressInfo | null;
      if (!addr) throw new Error('gateway is not listening');
      return addr.port;
    },
    async start() {
      await clientFiles.load();
      fileStore = await openFileStore(nc, subjects);
      await presence.start();
      deactivations = subscribeUserDeactivated(nc, subjects, (userId) => ws.deactivate(userId));
      await nc.flush();
      if (!config.ALLOWED_ORIGINS) {
        logger.warn('ALLOWED_ORIGINS is not set: WebSocket connections are accepted from any origin');
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, () => {
          server.off('error', reject);
          resolve();
        });
      });
      logger.info({ port: (server.address() as AddressInfo).port }, 'gateway listening');
    },
    async stop() {
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      deactivations?.unsubscribe();
      await ws.stop();
      await hub.stop();
      await presence.stop();
      const timer = setTimeout(() => server.closeAllConnections(), HTTP_GRACE_MS);
      timer.unref();
      await httpClosed;
      clearTimeout(timer);
      logger.info('gateway stopped');
    },
  };
}
