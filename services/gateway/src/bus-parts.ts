/**
 * Everything of the gateway that talks to NATS — the RPC client, presence, the hub, the WebSocket
 * server and the HTTP route table — built by start() (app.ts) once the connection exists.
 */
import { createFeedReader, createRpcClient, type FileStore, type NatsConnection } from '@parley/bus';
import type { Logger } from '@parley/logger';
import { subjects as makeSubjects } from '@parley/protocol';
import { createAuthenticator } from './auth/authenticate.js';
import type { TokenVerifier } from './auth/verify.js';
import type { GatewayConfig } from './config.js';
import { adminRoutes } from './http/admin.js';
import { apiRoutes } from './http/api.js';
import { type ClientFiles, clientRoutes } from './http/client.js';
import { filesRoutes } from './http/files.js';
import { healthRoutes } from './http/health.js';
import { mediaRoutes } from './http/media.js';
import type { HttpRoute } from './http/route.js';
import { unsubscribeRoutes } from './http/unsubscribe.js';
import type { GatewayMetrics } from './metrics.js';
import { createHub, type Hub } from './ws/hub.js';
import { createGatewayPresence, type GatewayPresence } from './ws/presence.js';
import { createWsServer, type WsServer } from './ws/server.js';
import { createSyncHandler } from './ws/sync.js';

export interface BusPartsDeps {
  nc: NatsConnection;
  config: GatewayConfig;
  logger: Logger;
  metrics: GatewayMetrics;
  verify: TokenVerifier;
  files: () => FileStore;
  clientFiles: ClientFiles;
}

export interface BusParts {
  nc: NatsConnection;
  presence: GatewayPresence;
  hub: Hub;
  ws: WsServer;
  routes: HttpRoute[];
}

export function createBusParts(deps: BusPartsDeps): BusParts {
  const { nc, config, logger, metrics, verify, files } = deps;
  const subjects = makeSubjects(config.SUBJECT_PREFIX);
  const locale = config.MESSAGES_LOCALE;
  const rpc = createRpcClient(nc, subjects, { timeoutMs: config.REQUEST_TIMEOUT_MS });
  const authenticate = createAuthenticator(verify, rpc);
  const presence = createGatewayPresence({
    nc,
    subjects,
    rpc,
    logger,
    gatewayId: config.GATEWAY_ID,
    ttlMs: config.PRESENCE_TTL_MS,
    replicas: config.NATS_REPLICAS,
    refreshMs: config.PRESENCE_REFRESH_MS,
    relistMs: config.PRESENCE_RELIST_MS,
  });
  const feed = createFeedReader(nc, subjects);
  const hub = createHub({
    nc,
    subjects,
    logger,
    metrics,
    feed,
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
    sync: createSyncHandler(feed, metrics),
  });
  const routes = [
    ...healthRoutes({ nc, rpc, probeTimeoutMs: Math.min(1_000, config.REQUEST_TIMEOUT_MS) }),
    ...filesRoutes({
      rpc,
      authenticate,
      files,
      maxUploadBytes: config.MAX_UPLOAD_BYTES,
      quotaBytesPerDay: config.UPLOAD_BYTES_PER_USER_PER_DAY,
    }),
    ...mediaRoutes({ rpc, files }),
    ...apiRoutes({ rpc, authenticate }),
    ...adminRoutes({ rpc, adminToken: config.ADMIN_TOKEN }),
    ...unsubscribeRoutes({ rpc, secret: config.JWT_SECRET, locale }),
    ...clientRoutes(deps.clientFiles),
  ];
  return { nc, presence, hub, ws, routes };
}
