/**
 * The WebSocket side of the HTTP server: authentication at the upgrade (nothing is opened for a
 * refused request: the HTTP status is written and the socket destroyed), the origin check, the
 * admission limits (upgrades per address, sockets per user: 429), the frame-size limit (ws maxPayload → 1009), the ping/pong heartbeat and graceful shutdown.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RpcClient } from '@parley/bus';
import type { Logger } from '@parley/logger';
import { CLOSE_CODES, type Locale, toParleyError } from '@parley/protocol';
import { WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/authenticate.js';
import { credentialsFromUpgrade } from '../auth/token.js';
import type { GatewayMetrics } from '../metrics.js';
import {
  type Connection,
  type ConnectionContext,
  type ConnectionLimits,
  createConnection,
  GatewayWebSocket,
} from './connection.js';
import { createExpiryScheduler } from './expiry.js';
import type { Hub } from './hub.js';
import type { SyncHandler } from './sync.js';
import { createAddressLimiter } from './upgrade-limits.js';

export interface WsServerDeps {
  authenticate: Authenticator;
  hub: Hub;
  rpc: RpcClient;
  metrics: GatewayMetrics;
  logger: Logger;
  locale: Locale;
  limits: ConnectionLimits;
  /** open sockets per user on this instance; one more upgrade is refused with 429 */
  maxSocketsPerUser: number;
  /** upgrades per client address per second (429 over it); 0: no limit */
  upgradesPerIpPerSec: number;
  maxFrameBytes: number;
  heartbeatMs: number;
  /** null: any origin */
  allowedOrigins: readonly string[] | null;
  sync: SyncHandler;
}

export interface WsServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * The user was deactivated: close their sockets here with 4403, and refuse (401) the upgrades of
   * that user whose authentication began before this call (their profile read may predate it).
   */
  deactivate(userId: number): void;
  /** refuse new upgrades, let each connection finish its frame in flight, close them with 1001 */
  stop(): Promise<void>;
  connectionCount(): number;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** how long a deactivation is remembered against upgrades that were being authenticated meanwhile */
const DEACTIVATION_MEMORY_MS = 60_000;

/** one listener for every socket's errors nobody needs (a per-socket closure costs memory) */
const ignore = () => undefined;

export function createWsServer(deps: WsServerDeps): WsServer {
  const { metrics, logger } = deps;
  const wss = new WebSocketServer<typeof GatewayWebSocket>({
    WebSocket: GatewayWebSocket,
    noServer: true,
    maxPayload: deps.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false),
  });
  const connections = new Set<Connection>();
  const expiry = createExpiryScheduler();
  const perAddress = createAddressLimiter(deps.upgradesPerIpPerSec);
  /** user id → when the last deactivation of that user arrived (ms); kept for DEACTIVATION_MEMORY_MS */
  const deactivatedAt = new Map<number, number>();
  let stopping = false;
  /** stop(): the connections it waits for, and what it is told when the last of them closed */
  let closing: { left: Set<Connection>; done: () => void } | undefined;

  /** one for every connection: what its socket held is given back when it closes */
  const onClose = (conn: Connection) => {
    connections.delete(conn);
    deps.hub.remove(conn);
    deps.hub.release(conn.userId);
    metrics.connections.set({ kind: 'sockets' }, connections.size);
    if (logger.isLevelEnabled('info')) conn.log().info('disconnected');
    if (closing?.left.delete(conn) && closing.left.size === 0) closing.done();
  };
  const context: ConnectionContext = {
    rpc: deps.rpc,
    locale: deps.locale,
    limits: deps.limits,
    metrics,
    logger,
    expiry,
    sync: deps.sync,
    onClose,
  };

  const heartbeat = setInterval(() => {
    for (const c of connections) c.heartbeat();
  }, deps.heartbeatMs);
  heartbeat.unref();

  const refuse = (socket: Duplex, status: number) => {
    metrics.upgradesRefused.inc({ status: String(status) });
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
  };

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = upgradeTarget(req.url);
    if (!url) return refuse(socket, 400);
    if (url.pathname !== '/ws/' && url.pathname !== '/ws') return refuse(socket, 404);
    if (stopping) return refuse(socket, 503);
    if (!perAddress.allow(req.socket.remoteAddress ?? '')) {
      logger.info('upgrade refused: too many upgrades from one address');
      return refuse(socket, 429);
    }
    const origin = req.headers.origin;
    if (origin && deps.allowedOrigins && !deps.allowedOrigins.includes(origin)) {
      logger.info({ origin }, 'upgrade refused: origin not allowed');
      return refuse(socket, 403);
    }
    const credentials = credentialsFromUpgrade(req, url);
    if (credentials.kind === 'conflict') {
      logger.info('upgrade refused: two different credentials');
      return refuse(socket, 401);
    }
    const since = url.searchParams.get('since') ?? undefined;
    const connId = `c${randomBytes(8).toString('hex')}`;
    const authStarted = Date.now();
    let userId: number;
    let exp: number;
    try {
      const principal = await deps.authenticate(
        credentials.kind === 'token' ? credentials.token : null,
        connId,
      );
      userId = principal.user_id;
      exp = principal.exp;
    } catch (err) {
      const perr = toParleyError(err);
      if (perr.code !== 'unauthorized') logger.warn({ code: perr.code }, 'upgrade failed: dialogs');
      else logger.info({ path: url.pathname }, 'upgrade refused: unauthorized');
      return refuse(socket, perr.code === 'unauthorized' ? 401 : perr.status);
    }
    if (stopping || socket.destroyed) return refuse(socket, 503);
    // the hub's holds of a user are its sockets here, open or opening (checked and taken in one tick)
    if (deps.hub.holds(userId) >= deps.maxSocketsPerUser) {
      logger.info({ user_id: userId }, 'upgrade refused: too many sockets of one user');
      return refuse(socket, 429);
    }
    // Until the connection takes it over, the hub's hold ends with the socket (this listener goes
    // once the socket is open: an open socket keeps nothing of its upgrade).
    let hold = 'retaining' as 'retaining' | 'held' | 'gone';
    const letGo = () => {
      if (hold === 'held') deps.hub.release(userId);
      hold = 'gone';
    };
    socket.on('close', letGo);
    try {
      await deps.hub.retain(userId);
    } catch (err) {
      hold = 'gone'; // a failed retain holds nothing
      throw err;
    }
    if (hold === 'gone') {
      // the socket closed while the hub subscribed
      deps.hub.release(userId);
      return;
    }
    hold = 'held';
    if (socket.destroyed) return letGo();
    if ((deactivatedAt.get(userId) ?? -1) >= authStarted) {
      letGo();
      logger.info({ user_id: userId }, 'upgrade refused: user deactivated meanwhile');
      return refuse(socket, 401);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // ws listens for the socket's errors and close from here on
      socket.off('close', letGo);
      socket.off('error', ignore);
      const conn = createConnection(context, { ws, connId, userId, exp, since, socket });
      ws.on(
        'error',
        logger.isLevelEnabled('debug') ? (err) => conn.log().debug({ err }, 'socket error') : ignore,
      );
      connections.add(conn);
      deps.hub.add(conn);
      metrics.connections.set({ kind: 'sockets' }, connections.size);
      if (logger.isLevelEnabled('info')) conn.log().info('connected');
    });
  };

  return {
    deactivate(userId) {
      const now = Date.now();
      for (const [id, at] of deactivatedAt) if (now - at > DEACTIVATION_MEMORY_MS) deactivatedAt.delete(id);
      deactivatedAt.set(userId, now);
      let closed = 0;
      for (const c of connections) {
        if (c.userId !== userId) continue;
        c.close(CLOSE_CODES.ACCOUNT_DEACTIVATED, 'account deactivated');
        closed++;
      }
      if (closed) logger.info({ user_id: userId, sockets: closed }, 'user deactivated: sockets closed');
    },
    handleUpgrade(req, socket, head) {
      socket.on('error', ignore);
      upgrade(req, socket, head).catch((err: unknown) => {
        logger.error({ err }, 'upgrade failed');
        refuse(socket, 500);
      });
    },
    async stop() {
      stopping = true;
      clearInterval(heartbeat);
      const all = [...connections];
      const closed = new Promise<void>((done) => {
        closing = { left: new Set(all), done };
        if (!all.length) done();
      });
      await Promise.all(all.map((c) => c.shutdown()));
      const grace = new Promise<void>((r) => setTimeout(r, 2_000).unref());
      await Promise.race([closed, grace]);
      for (const c of connections) c.terminate();
      expiry.stop();
      wss.close();
    },
    connectionCount: () => connections.size,
  };
}

/**
 * The request target as a URL, or null when it is not a plain origin-form path (`/ws/?…`): an
 * absolute-form or authority target, `//…` (which a URL parser reads as a host), or anything the
 * parser refuses is answered 400 rather than guessed at.
 */
function upgradeTarget(target: string | undefined): URL | null {
  if (!target?.startsWith('/') || target.startsWith('//')) return null;
  try {
    return new URL(target, 'http://gateway.invalid');
  } catch {
    return null;
  }
}
