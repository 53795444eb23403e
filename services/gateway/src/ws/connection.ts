/**
 * One connection actor per socket: frames are queued as they arrive and handled one at a time, in
 * order, by a single loop; each is parsed and validated with libs/protocol, forwarded to `dialogs`
 * as a NATS request carrying the caller's identity, and answered with the §2 envelope.
 * Limits: a token-bucket rate limit (`rate_limited` answers, then 1008 on continued flooding),
 * a send-buffer cap (1013), the token's `exp` (4401). Frame size (1009) and heartbeat are enforced
 * by the server around it.
 */
import type { RpcClient } from '@parley/bus';
import type { Logger } from '@parley/logger';
import {
  answerFrame,
  CLOSE_CODES,
  type CloseCode,
  clientParams,
  FrameError,
  isClientEvent,
  type Locale,
  ParleyError,
  parseClientFrame,
  type RequestId,
  type ServerFrame,
  validate,
} from '@parley/protocol';
import WebSocket, { type RawData } from 'ws';
import { toErrorFrame } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { forward } from '../routes.js';
import type { HubSocket } from './hub.js';
import { TokenBucket } from './rate-limit.js';

export interface ConnectionLimits {
  ratePerSec: number;
  burst: number;
  maxBufferedBytes: number;
}

export interface ConnectionDeps {
  ws: WebSocket;
  connId: string;
  userId: number;
  /** token expiry, seconds since the epoch */
  exp: number;
  rpc: RpcClient;
  locale: Locale;
  limits: ConnectionLimits;
  metrics: GatewayMetrics;
  logger: Logger;
}

export interface Connection extends HubSocket {
  /** called by the heartbeat: false when the peer missed the last ping (then it is terminated) */
  heartbeat(): boolean;
  close(code: CloseCode, reason: string): void;
  /** drop the TCP connection without a closing handshake */
  terminate(): void;
  /** stop reading, finish the frame in flight, answer queued frames `unavailable`, close 1001 */
  shutdown(): Promise<void>;
  closed: Promise<void>;
}

/** setTimeout cannot wait longer than this (longer delays fire at once) */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createConnection(deps: ConnectionDeps): Connection {
  const { ws, connId, userId, limits, metrics, locale } = deps;
  const log = deps.logger;
  const bucket = new TokenBucket(limits.ratePerSec, limits.burst);
  const queue: string[] = [];
  let strikes = 0;
  let seq = 0;
  let alive = true;
  let draining = false;
  let loop: Promise<void> | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;

  const sendFrame = (frame: ServerFrame) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > limits.maxBufferedBytes) {
      log.warn({ buffered: ws.bufferedAmount }, 'slow reader: closing');
      close(CLOSE_CODES.TRY_AGAIN_LATER, 'too slow');
      return;
    }
    ws.send(JSON.stringify(frame));
  };

  const close = (code: CloseCode, reason: string) => {
    if (ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING) return;
    metrics.closes.inc({ code: String(code) });
    ws.close(code, reason);
  };

  /** event name and request id of a frame we will not handle, for its error answer */
  const peek = (text: string): { event: string; request_id?: RequestId } => {
    try {
      const f = parseClientFrame(text);
      return f.request_id === undefined ? { event: f.event } : { event: f.event, request_id: f.request_id };
    } catch (err) {
      if (err instanceof FrameError) {
        return err.request_id === undefined
          ? { event: err.event }
          : { event: err.event, request_id: err.request_id };
      }
      return { event: 'error' };
    }
  };

  const handle = async (text: string) => {
    const started = performance.now();
    let event = 'error';
    let requestId: RequestId | undefined;
    try {
      const frame = parseClientFrame(text);
      event = frame.event;
      requestId = frame.request_id;
      const params = validate(clientParams[frame.event], frame.params);
      const reply = await forward(deps.rpc, frame.event, params, {
        caller: { user_id: userId, conn_id: connId },
        requestId: `${connId}.${++seq}`,
      });
      sendFrame(answerFrame(frame.event, reply.data, { meta: reply.meta, request_id: requestId }));
      metrics.frames.inc({ event, outcome: 'ok' });
    } catch (err) {
      if (err instanceof FrameError) {
        event = err.event;
        requestId = err.request_id;
      }
      const perr = err instanceof FrameError ? err.error : err;
      if (!(perr instanceof ParleyError)) log.error({ err, event }, 'frame failed');
      sendFrame(toErrorFrame(event, perr, locale, requestId));
      metrics.frames.inc({ event: metricEvent(event), outcome: 'error' });
    } finally {
      if (isClientEvent(event))
        metrics.requestSeconds.observe({ event }, (performance.now() - started) / 1000);
    }
  };

  const run = async () => {
    for (let text = queue.shift(); text !== undefined; text = queue.shift()) {
      if (draining) {
        const { event, request_id } = peek(text);
        sendFrame(toErrorFrame(event, new ParleyError('unavailable'), locale, request_id));
        continue;
      }
      await handle(text);
    }
  };

  const onMessage = (data: RawData) => {
    if (draining) return;
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as Buffer).toString('utf8');
    if (!bucket.take()) {
      strikes++;
      if (strikes > limits.burst) {
        log.warn('kept flooding after rate_limited answers: closing');
        close(CLOSE_CODES.POLICY_VIOLATION, 'rate limit');
        return;
      }
      const { event, request_id } = peek(text);
      sendFrame(toErrorFrame(event, new ParleyError('rate_limited'), locale, request_id));
      metrics.frames.inc({ event: metricEvent(event), outcome: 'rate_limited' });
      return;
    }
    strikes = 0;
    queue.push(text);
    loop ??= run()
      .catch((err: unknown) => log.error({ err }, 'connection loop failed'))
      .finally(() => {
        loop = undefined;
      });
  };

  const scheduleExpiry = () => {
    const ms = deps.exp * 1000 - Date.now();
    if (ms <= 0) {
      close(CLOSE_CODES.TOKEN_EXPIRED, 'token expired');
      return;
    }
    expiryTimer = setTimeout(scheduleExpiry, Math.min(ms, MAX_TIMER_MS));
  };

  ws.on('message', onMessage);
  ws.on('pong', () => {
    alive = true;
  });
  const closed = new Promise<void>((resolve) => {
    ws.once('close', () => {
      if (expiryTimer) clearTimeout(expiryTimer);
      queue.length = 0;
      resolve();
    });
  });
  scheduleExpiry();

  return {
    connId,
    userId,
    sendFrame,
    close,
    closed,
    terminate: () => ws.terminate(),
    heartbeat() {
      if (!alive) {
        log.info('missed a pong: dropping');
        metrics.closes.inc({ code: 'heartbeat' });
        ws.terminate();
        return false;
      }
      alive = false;
      if (ws.readyState === WebSocket.OPEN) ws.ping();
      return true;
    },
    async shutdown() {
      draining = true;
      await loop;
      close(CLOSE_CODES.GOING_AWAY, 'server shutting down');
    },
  };
}

function metricEvent(event: string): string {
  return isClientEvent(event) ? event : event === 'error' ? 'error' : 'unknown';
}
