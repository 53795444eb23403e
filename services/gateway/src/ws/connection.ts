/**
 * One connection actor per socket: frames are queued as they arrive and handled one at a time, in
 * order, by a single loop; each is parsed and validated with libs/protocol, forwarded to `dialogs`
 * as a NATS request carrying the caller's identity, and answered with the §2 envelope.
 * Limits: a token-bucket rate limit (`rate_limited` answers, then 1008 on continued flooding),
 * a send-buffer cap (1013), the token's `exp` (4401), a cap on the frames waiting behind the one in
 * flight (count and bytes: 4429). Frame size (1009) and heartbeat are enforced
 * by the server around it.
 */

import type { Duplex } from 'node:stream';
import type { RpcClient } from '@parley/bus';
import type { Logger } from '@parley/logger';
import {
  answerFrame,
  CLOSE_CODES,
  type CloseCode,
  clientParams,
  FrameError,
  gatewayParams,
  isClientEvent,
  type Locale,
  ParleyError,
  parseClientFrame,
  type RequestId,
  type RpcReply,
  type ServerFrame,
  validate,
} from '@parley/protocol';
import WebSocket, { type RawData } from 'ws';
import { toErrorFrame } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { forward } from '../routes.js';
import type { ExpiryScheduler } from './expiry.js';
import { FeedCursor } from './feed-cursor.js';
import type { HubSocket } from './hub.js';
import { TokenBucket } from './rate-limit.js';
import type { SyncHandler } from './sync.js';

export interface ConnectionLimits {
  ratePerSec: number;
  burst: number;
  maxBufferedBytes: number;
  /** frames / bytes waiting behind the frame in flight before the socket is closed (4429) */
  maxQueuedFrames: number;
  maxQueuedBytes: number;
}

/** What every connection of one server shares: made once, referenced by each connection. */
export interface ConnectionContext {
  rpc: RpcClient;
  locale: Locale;
  limits: ConnectionLimits;
  metrics: GatewayMetrics;
  /** the gateway's logger; a connection's child (`conn_id`, `user_id`) is made on first use */
  logger: Logger;
  /** the gateway's shared token-expiry timer */
  expiry: ExpiryScheduler;
  /** answers `sync` from the user's feed (PROTOCOL.md §8) */
  sync: SyncHandler;
  /** the connection's socket closed (called once per connection; one function for all of them) */
  onClose(conn: Connection): void;
}

/** What is a connection's own. */
export interface ConnectionInit {
  ws: GatewayWebSocket;
  connId: string;
  userId: number;
  /** token expiry, seconds since the epoch */
  exp: number;
  /** `?since=` of the connect URL: a `sync` handled before any frame of the client */
  since?: string | undefined;
  /**
   * the upgraded TCP socket under `ws`: corked while frames are written in one tick (several pushes
   * from one NATS read, an answer and its pushes) so they leave in one write, not a syscall each
   */
  socket?: Duplex | undefined;
}

export interface Connection extends HubSocket {
  /** called by the heartbeat: false when the peer missed the last ping (then it is terminated) */
  heartbeat(): boolean;
  close(code: CloseCode, reason: string): void;
  /** drop the TCP connection without a closing handshake */
  terminate(): void;
  /** stop reading, finish the frame in flight, answer queued frames `unavailable`, close 1001 */
  shutdown(): Promise<void>;
  /** this connection's logger (made on first use: an idle socket never needs one) */
  log(): Logger;
}

/** what a socket's events do to its connection */
export interface SocketEvents {
  onMessage(data: RawData): void;
  onPong(): void;
  onClose(): void;
}

/**
 * The server's WebSocket class (ws' `WebSocket` option). ws reports a socket's messages, pongs and
 * close by emitting them on the socket; here they go straight to its connection, so a socket costs
 * no listener for them (nor a larger listener table: an emitter's grows past three event names).
 */
export class GatewayWebSocket extends WebSocket {
  actor: SocketEvents | undefined = undefined;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const { actor } = this;
    if (actor) {
      if (event === 'message') actor.onMessage(args[0] as RawData);
      else if (event === 'pong') actor.onPong();
      else if (event === 'close') actor.onClose();
    }
    return super.emit(event, ...args);
  }
}

export function createConnection(ctx: ConnectionContext, init: ConnectionInit): Connection {
  return new SocketActor(ctx, init);
}

/**
 * The actor's state lives in one object with its methods on the prototype, and what every socket
 * shares in one context object: an idle socket costs its own fields, no closure or listener. The
 * rate-limit bucket and the feed cursor are made when first needed (a frame; a feed entry or a sync).
 */
class SocketActor implements Connection, SocketEvents {
  readonly connId: string;
  readonly userId: number;
  private readonly ctx: ConnectionContext;
  private readonly ws: GatewayWebSocket;
  private readonly socket: Duplex | undefined;
  private readonly exp: number;
  private bucket: TokenBucket | undefined;
  private cursor: FeedCursor | undefined;
  private child: Logger | undefined;
  /** frames waiting for the loop, with their UTF-8 size (made on the first frame) */
  private queue: Array<{ text: string; bytes: number }> | undefined;
  /** UTF-8 bytes of the frames in `queue` */
  private queuedBytes = 0;
  private strikes = 0;
  private seq = 0;
  private alive = true;
  private draining = false;
  private loop: Promise<void> | undefined;

  constructor(ctx: ConnectionContext, init: ConnectionInit) {
    this.ctx = ctx;
    this.ws = init.ws;
    this.socket = init.socket;
    this.connId = init.connId;
    this.userId = init.userId;
    this.exp = init.exp;
    init.ws.actor = this;
    ctx.expiry.add(init.exp, this);
    if (init.since !== undefined) this.enqueue(JSON.stringify({ event: 'sync', since: init.since }));
  }

  /** where the socket stands in its user's feed (made by the first feed entry or sync) */
  get feed(): FeedCursor {
    this.cursor ??= new FeedCursor(this);
    return this.cursor;
  }

  onMessage(data: RawData): void {
    this.receive(data);
  }

  onPong(): void {
    this.alive = true;
  }

  onClose(): void {
    this.ctx.expiry.remove(this.exp, this);
    if (this.queue) this.queue.length = 0;
    this.queuedBytes = 0;
    this.ctx.onClose(this);
  }

  log(): Logger {
    this.child ??= this.ctx.logger.child({ conn_id: this.connId, user_id: this.userId });
    return this.child;
  }

  /** the token's `exp` passed (ExpiryScheduler) */
  expire(): void {
    this.close(CLOSE_CODES.TOKEN_EXPIRED, 'token expired');
  }

  sendFrame(frame: ServerFrame): void {
    this.sendText(JSON.stringify(frame));
  }

  sendText(text: string): void {
    const { ws, socket } = this;
    const { limits } = this.ctx;
    if (ws.readyState !== WebSocket.OPEN) return;
    // bytes corked by this tick are not the reader's backlog: hand them to the kernel before judging
    if (socket && socket.writableCorked > 0 && ws.bufferedAmount > limits.maxBufferedBytes) socket.uncork();
    if (ws.bufferedAmount > limits.maxBufferedBytes) {
      this.log().warn({ buffered: ws.bufferedAmount }, 'slow reader: closing');
      this.close(CLOSE_CODES.TRY_AGAIN_LATER, 'too slow');
      return;
    }
    // the first frame of this tick corks the socket until the tick ends (no per-socket state: `ws`
    // itself only corks inside one send, so a corked socket here is corked by us)
    if (socket && socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(uncork, socket);
    }
    ws.send(text);
    // a long burst (a replay batch) goes out in pieces: corked bytes must not count as a slow reader
    if (socket && socket.writableCorked > 0 && socket.writableLength >= CORK_FLUSH_BYTES) socket.uncork();
  }

  close(code: CloseCode, reason: string): void {
    const { ws } = this;
    if (ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING) return;
    this.ctx.metrics.closes.inc({ code: String(code) });
    ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  heartbeat(): boolean {
    const { ws } = this;
    if (!this.alive) {
      this.log().info('missed a pong: dropping');
      this.ctx.metrics.closes.inc({ code: 'heartbeat' });
      ws.terminate();
      return false;
    }
    this.alive = false;
    if (ws.readyState === WebSocket.OPEN) ws.ping();
    return true;
  }

  async shutdown(): Promise<void> {
    this.draining = true;
    await this.loop;
    this.close(CLOSE_CODES.GOING_AWAY, 'server shutting down');
  }

  private async handle(text: string): Promise<void> {
    const { metrics, locale } = this.ctx;
    const started = performance.now();
    let event = 'error';
    let requestId: RequestId | undefined;
    try {
      const frame = parseClientFrame(text);
      event = frame.event;
      requestId = frame.request_id;
      let reply: RpcReply<unknown>;
      if (frame.event === 'sync') {
        const { since } = validate(gatewayParams.sync, frame.params);
        reply = { data: await this.ctx.sync(this.userId, this.feed, since) };
      } else {
        const params = validate(clientParams[frame.event], frame.params);
        reply = await forward(this.ctx.rpc, frame.event, params, {
          caller: { user_id: this.userId, conn_id: this.connId },
          requestId: `${this.connId}.${++this.seq}`,
        });
      }
      this.sendFrame(answerFrame(frame.event, reply.data, { meta: reply.meta, request_id: requestId }));
      metrics.frames.inc({ event, outcome: 'ok' });
    } catch (err) {
      if (err instanceof FrameError) {
        event = err.event;
        requestId = err.request_id;
      }
      const perr = err instanceof FrameError ? err.error : err;
      if (!(perr instanceof ParleyError)) this.log().error({ err, event }, 'frame failed');
      this.sendFrame(toErrorFrame(event, perr, locale, requestId));
      metrics.frames.inc({ event: metricEvent(event), outcome: 'error' });
    } finally {
      // a sync's held live pushes follow its answer (or its error)
      this.cursor?.endReplay();
      if (isClientEvent(event))
        metrics.requestSeconds.observe({ event }, (performance.now() - started) / 1000);
    }
  }

  private async run(): Promise<void> {
    for (let next = this.queue?.shift(); next !== undefined; next = this.queue?.shift()) {
      const { text } = next;
      this.queuedBytes -= next.bytes;
      if (this.draining) {
        const { event, request_id } = peek(text);
        this.sendFrame(toErrorFrame(event, new ParleyError('unavailable'), this.ctx.locale, request_id));
        continue;
      }
      await this.handle(text);
    }
  }

  /**
   * Memory bound: a client that keeps sending while its answers are slow (dialogs slow or gone)
   * would otherwise queue frames without end. Counted before the rate limit, so refused frames
   * (answered at once, never queued) count too only while something is waiting.
   */
  private overQueueLimit(bytes: number): boolean {
    const { limits } = this.ctx;
    const waiting = this.queue?.length ?? 0;
    if (waiting === 0) return false;
    if (waiting < limits.maxQueuedFrames && this.queuedBytes + bytes <= limits.maxQueuedBytes) return false;
    this.log().warn({ waiting, bytes: this.queuedBytes }, 'too many frames waiting: closing');
    this.close(CLOSE_CODES.QUEUE_FULL, 'too many frames waiting');
    this.queue!.length = 0;
    this.queuedBytes = 0;
    return true;
  }

  private receive(data: RawData): void {
    if (this.draining || this.ws.readyState !== WebSocket.OPEN) return;
    const { limits, metrics, locale } = this.ctx;
    const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    const text = raw.toString('utf8');
    if (this.overQueueLimit(raw.length)) return;
    // made full on the first frame: the same as a bucket made at connect, which is full by then
    this.bucket ??= new TokenBucket(limits.ratePerSec, limits.burst);
    if (!this.bucket.take()) {
      this.strikes++;
      if (this.strikes > limits.burst) {
        this.log().warn('kept flooding after rate_limited answers: closing');
        this.close(CLOSE_CODES.POLICY_VIOLATION, 'rate limit');
        return;
      }
      const { event, request_id } = peek(text);
      this.sendFrame(toErrorFrame(event, new ParleyError('rate_limited'), locale, request_id));
      metrics.frames.inc({ event: metricEvent(event), outcome: 'rate_limited' });
      return;
    }
    this.strikes = 0;
    this.enqueue(text, raw.length);
  }

  private enqueue(text: string, bytes = Buffer.byteLength(text)): void {
    this.queue ??= [];
    this.queue.push({ text, bytes });
    this.queuedBytes += bytes;
    this.loop ??= this.run()
      .catch((err: unknown) => this.log().error({ err }, 'connection loop failed'))
      .finally(() => {
        this.loop = undefined;
      });
  }
}

/** corked bytes that are written at once without waiting for the end of the tick */
const CORK_FLUSH_BYTES = 64 * 1024;

/**
 * End of the tick: what was written since the first frame leaves in one write. A shared function (no
 * closure per write); after an early uncork it may find the socket uncorked, which is a no-op.
 */
function uncork(socket: Duplex): void {
  socket.uncork();
}

/** event name and request id of a frame we will not handle, for its error answer */
function peek(text: string): { event: string; request_id?: RequestId } {
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
}

function metricEvent(event: string): string {
  return isClientEvent(event) ? event : event === 'error' ? 'error' : 'unknown';
}
