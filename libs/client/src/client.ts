/**
 * The Parley client: one live WebSocket at a time, requests matched to answers by `request_id`,
 * typed push handlers, reconnect with jittered backoff, resume with `sync` (PROTOCOL.md §8) and a
 * token refreshed before it expires. A request survives a reconnect: it is sent again on the next
 * socket until it is answered or times out — safe, because reads are idempotent and every
 * `dialogs.messages.create` carries a `client_id` the server deduplicates on.
 */
import { CLOSE_CODES } from '@parley/protocol/close-codes';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { ParleyClientError } from './errors.js';
import { ResumeState } from './resume.js';
import { tokenExpiryMs } from './token.js';
import type {
  Answer,
  ClientAnswers,
  ClientEvent,
  ClientEventMap,
  ConnectionState,
  RequestParams,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';

export interface ParleyClientOptions {
  /** `ws[s]://host/ws/`, or the gateway's `http[s]://host` base (then `/ws/` is appended) */
  url: string;
  /** the JWT, or a function giving it (called again when it expired and there is no `refreshToken`) */
  token: string | (() => string | Promise<string>);
  /**
   * gives a fresh JWT: called before the current one expires (then the client moves to a new socket
   * without losing a push) and when the server closes with 4401. Without it an expired token stops
   * the client (`expired` event).
   */
  refreshToken?: () => string | Promise<string>;
  /**
   * refresh this long before `exp` (at most half the token's remaining life), ms; default 60 000;
   * 0: only when the server closes with 4401
   */
  refreshLeadMs?: number;
  /** how the token travels: the `bearer, <JWT>` sub-protocol (default) or `?token=` */
  auth?: 'subprotocol' | 'query';
  /** WebSocket constructor; default the global one (browsers, Node 22+). In Node 20 pass `ws`. */
  WebSocket?: WebSocketConstructor;
  /** a request's whole budget, reconnects included, ms; default 10 000 */
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** send `sync` after a reconnect and drop pushes already seen (PROTOCOL.md §8); default true */
  resume?: boolean;
}

interface Pending {
  event: string;
  text: string;
  resolve: (answer: Answer<ClientEvent>) => void;
  reject: (err: ParleyClientError) => void;
  timer: ReturnType<typeof setTimeout>;
  /** the socket it was last written to */
  sentOn: WebSocketLike | null;
  /** internal frames (sync) are not resent: a new socket sends its own */
  internal: boolean;
}

type Listener = (...args: never[]) => void;

const OPEN = 1;

export class ParleyClient {
  private readonly opts: ParleyClientOptions;
  private readonly WS: WebSocketConstructor;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly pending = new Map<string, Pending>();
  private readonly session = randomId().slice(0, 8);
  private ws: WebSocketLike | null = null;
  private token: string | null = null;
  /** the server refused the token (4401): get another even if our clock says it is still valid */
  private tokenStale = false;
  private nextId = 0;
  private attempt = 0;
  private opened = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly resume = new ResumeState();
  private firstOpen: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private _state: ConnectionState = 'idle';
  private lastSocketError: string | undefined;

  constructor(opts: ParleyClientOptions) {
    const WS = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS)
      throw new Error('no global WebSocket here: pass one as options.WebSocket (e.g. the `ws` package)');
    this.WS = WS;
    this.opts = opts;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** the highest `seq` seen on a push (0 before any, or from a server without §8) */
  get seq(): number {
    return this.resume.lastSeq;
  }

  /**
   * whether a reconnect resumes where the last socket stopped (the server has §8 and a `seq` was seen):
   * then `sync` replays what was missed, and a page need not reload its state
   */
  get resumes(): boolean {
    return this.opts.resume !== false && this.resume.supported && this.resume.lastSeq > 0;
  }

  /**
   * Open the connection; resolves once the first socket is open (it keeps reconnecting after that).
   * No socket within `timeoutMs` (default 15 000; a refused token, a wrong URL): rejects with
   * `unavailable` (kind `timeout`) and closes the client. `timeoutMs: 0` waits for ever.
   */
  connect(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this._state !== 'idle') return Promise.reject(new Error(`connect() on a ${this._state} client`));
    const budget = opts.timeoutMs ?? 15_000;
    const first = new Promise<void>((resolve, reject) => {
      const giveUp = () => {
        const why = this.lastSocketError ? ` (last error: ${this.lastSocketError})` : '';
        const err = new ParleyClientError('unavailable', `could not connect within ${budget} ms${why}`, {
          kind: 'timeout',
          event: 'connect',
        });
        this.firstOpen = undefined;
        this.close();
        reject(err);
      };
      const timer = budget > 0 ? setTimeout(giveUp, budget) : undefined;
      this.firstOpen = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
    void this.open();
    return first;
  }

  /** Listen to a push event or a connection event; returns the function that stops listening. */
  on<K extends keyof ClientEventMap>(event: K, fn: ClientEventMap[K]): () => void {
    const set = this.listeners.get(event) ?? new Set<Listener>();
    this.listeners.set(event, set);
    set.add(fn as Listener);
    return () => set.delete(fn as Listener);
  }

  /** Send a client event; resolves with the answer's `data`, rejects with a ParleyClientError. */
  async request<E extends ClientEvent>(
    event: E,
    params: RequestParams<E>,
    opts: { timeoutMs?: number } = {},
  ): Promise<ClientAnswers[E]> {
    return (await this.requestWithMeta(event, params, opts)).data;
  }

  /** As `request`, with the answer's `meta` (the paginated loads). */
  requestWithMeta<E extends ClientEvent>(
    event: E,
    params: RequestParams<E>,
    opts: { timeoutMs?: number } = {},
  ): Promise<Answer<E>> {
    const frame: Record<string, unknown> = { ...(params as object), event };
    if (event === 'dialogs.messages.create' && (frame.client_id === undefined || frame.client_id === null)) {
      frame.client_id = randomId();
    }
    return this.send(frame, opts.timeoutMs, false) as Promise<Answer<E>>;
  }

  /** Stop: close the socket, reject what is pending, never reconnect. */
  close(): void {
    if (this._state === 'closed') return;
    this.setState('closed');
    clearTimeout(this.retryTimer);
    clearTimeout(this.refreshTimer);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'client closed');
    for (const [id, p] of this.pending) this.settle(id, p, this.closedError(p.event));
    this.firstOpen?.reject(new Error('client closed before it connected'));
    this.firstOpen = undefined;
  }

  // ---- sockets --------------------------------------------------------------------------------

  /** Open a socket with the current (or a refreshed) token; `replace` keeps the old one until then. */
  private async open(opts: { replace?: boolean } = {}): Promise<void> {
    if (this._state === 'closed') return;
    if (!opts.replace) this.setState(this.opened ? 'reconnecting' : 'connecting');
    let token: string;
    try {
      token = await this.currentToken();
    } catch (err) {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
      if (!opts.replace) this.scheduleReconnect();
      return;
    }
    if (this.isClosed()) return; // close() was called while the token was fetched
    const url = wsUrl(this.opts.url, this.opts.auth === 'query' ? token : undefined);
    const socket = this.opts.auth === 'query' ? new this.WS(url) : new this.WS(url, ['bearer', token]);
    if (!opts.replace) this.ws = socket;
    socket.addEventListener('open', () => this.onOpen(socket, token));
    socket.addEventListener('message', (e) => this.onMessage(socket, e.data));
    socket.addEventListener('close', (e) => this.onClose(socket, e.code, e.reason));
    socket.addEventListener('error', (e) => {
      // a close event follows; the message (Node's `ws` says e.g. "Unexpected server response: 401")
      // only explains a connect() that gives up
      const message = (e as { message?: unknown } | undefined)?.message;
      this.lastSocketError = typeof message === 'string' ? message : 'socket error';
    });
  }

  private onOpen(socket: WebSocketLike, token: string): void {
    if (this._state === 'closed') {
      socket.close(1000, 'client closed');
      return;
    }
    const previous = this.ws;
    this.ws = socket;
    if (previous && previous !== socket) this.retire(previous);
    const reconnect = this.opened > 0;
    this.opened += 1;
    this.attempt = 0;
    clearTimeout(this.retryTimer);
    this.setState('open');
    this.planRefresh(token);
    if (this.opts.resume !== false) this.sendSync();
    // what no live socket owes an answer for (a retiring one still answers its own)
    for (const p of this.pending.values()) if (!p.internal && !p.sentOn) this.write(p);
    this.emit('open', { reconnect });
    this.firstOpen?.resolve();
    this.firstOpen = undefined;
  }

  private onMessage(socket: WebSocketLike, raw: unknown): void {
    let frame: Record<string, unknown>;
    try {
      const value = JSON.parse(String(raw)) as unknown;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
      frame = value as Record<string, unknown>;
    } catch {
      return;
    }
    const rid = frame.request_id;
    const waiting = typeof rid === 'string' ? this.pending.get(rid) : undefined;
    if (waiting && typeof rid === 'string') {
      if (frame.exception) this.settle(rid, waiting, ParleyClientError.fromFrame(frame));
      else this.settle(rid, waiting, undefined, frame);
      return;
    }
    // only the active socket delivers pushes: a retiring one would double them
    if (socket !== this.ws || rid !== undefined) return;
    if (frame.exception) {
      this.emit('error', ParleyClientError.fromFrame(frame));
      return;
    }
    if (typeof frame.event !== 'string') return;
    // a push already delivered (a replay overlapping a live push) is dropped
    if (this.opts.resume !== false && !this.resume.accept(frame.seq)) return;
    this.emit(frame.event, frame.data, frame);
  }

  private onClose(socket: WebSocketLike, code: number, reason: string): void {
    for (const p of this.pending.values()) if (p.sentOn === socket) p.sentOn = null;
    if (socket !== this.ws) {
      // a retired socket, or a replacement that never opened: resend what it still owed
      const active = this.ws;
      if (active?.readyState === OPEN) for (const p of this.pending.values()) if (!p.sentOn) this.write(p);
      return;
    }
    this.ws = null;
    clearTimeout(this.refreshTimer);
    if (this._state === 'closed') return;
    this.emit('close', { code, reason });
    for (const [id, p] of this.pending) if (p.internal) this.settle(id, p, this.closedError(p.event));
    if (code === CLOSE_CODES.TOKEN_EXPIRED) {
      this.tokenStale = true;
      if (!this.opts.refreshToken) {
        this.expire();
        return;
      }
      this.attempt = 0;
      void this.open();
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this._state === 'closed') return;
    this.setState(this.opened ? 'reconnecting' : 'connecting');
    clearTimeout(this.retryTimer);
    const delay = backoffDelay(this.attempt, this.opts.backoff);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }

  /** A replaced socket: closed once nothing sent on it waits for an answer (or after the budget). */
  private retire(socket: WebSocketLike): void {
    const budget = this.opts.requestTimeoutMs ?? 10_000;
    const deadline = Date.now() + budget;
    const check = () => {
      const owes = [...this.pending.values()].some((p) => p.sentOn === socket);
      if (!owes || Date.now() > deadline) socket.close(1000, 'token refreshed');
      else setTimeout(check, 100);
    };
    check();
  }

  private expire(): void {
    this.close();
    this.emit('expired');
  }

  // ---- tokens ---------------------------------------------------------------------------------

  private async currentToken(): Promise<string> {
    const now = Date.now();
    const exp = this.token ? tokenExpiryMs(this.token) : undefined;
    if (this.token && !this.tokenStale && (exp === undefined || exp > now + 1000)) return this.token;
    if (this.token && this.opts.refreshToken) this.token = await this.opts.refreshToken();
    else this.token = typeof this.opts.token === 'string' ? this.opts.token : await this.opts.token();
    this.tokenStale = false;
    return this.token;
  }

  private planRefresh(token: string): void {
    clearTimeout(this.refreshTimer);
    const exp = tokenExpiryMs(token);
    const leadMs = this.opts.refreshLeadMs ?? 60_000;
    if (!this.opts.refreshToken || exp === undefined || leadMs <= 0) return;
    const left = exp - Date.now();
    const lead = Math.min(leadMs, left / 2);
    this.refreshTimer = setTimeout(() => void this.refresh(), Math.max(0, left - lead));
  }

  private async refresh(): Promise<void> {
    try {
      const fresh = await this.opts.refreshToken!();
      if (this._state === 'closed') return;
      this.token = fresh;
    } catch (err) {
      // the live socket keeps going until 4401; then the refresh is tried once more
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
      return;
    }
    void this.open({ replace: true });
  }

  // ---- frames ---------------------------------------------------------------------------------

  private send(frame: Record<string, unknown>, timeoutMs: number | undefined, internal: boolean) {
    if (this._state === 'closed') return Promise.reject(this.closedError(String(frame.event)));
    const id = `${this.session}-${++this.nextId}`;
    const event = String(frame.event);
    const text = JSON.stringify({ ...frame, request_id: id });
    return new Promise<Answer<ClientEvent>>((resolve, reject) => {
      const budget = timeoutMs ?? this.opts.requestTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        const p = this.pending.get(id);
        if (!p) return;
        const err = new ParleyClientError('unavailable', `no answer to ${event} within ${budget} ms`, {
          kind: 'timeout',
          event,
        });
        this.settle(id, p, err);
      }, budget);
      const p: Pending = { event, text, resolve, reject, timer, sentOn: null, internal };
      this.pending.set(id, p);
      if (this.ws?.readyState === OPEN) this.write(p);
    });
  }

  private write(p: Pending): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return;
    p.sentOn = ws;
    ws.send(p.text);
  }

  private settle(id: string, p: Pending, err?: ParleyClientError, frame?: Record<string, unknown>): void {
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) {
      p.reject(err);
      return;
    }
    const answer = { data: frame?.data } as Answer<ClientEvent>;
    if (frame?.meta) answer.meta = frame.meta as Answer<ClientEvent>['meta'];
    p.resolve(answer);
  }

  /** `sync` on each new socket: replays what was missed since the last `seq` (§8). */
  private sendSync(): void {
    const frame = this.resume.syncFrame();
    if (!frame) return;
    this.send(frame, undefined, true).then(
      ({ data }) => {
        if (this.resume.onAnswer(data)) this.emit('resync', { seq: this.resume.lastSeq });
      },
      (err: ParleyClientError) => this.resume.onError(err.code),
    );
  }

  private closedError(event: string): ParleyClientError {
    return new ParleyClientError('unavailable', 'the client was closed', { kind: 'closed', event });
  }

  private isClosed(): boolean {
    return this._state === 'closed';
  }

  private setState(state: ConnectionState): void {
    if (this._state === state) return;
    this._state = state;
    this.emit('state', state);
  }

  private emit(event: string, ...args: unknown[]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (...a: unknown[]) => void)(...args);
      } catch (err) {
        // a throwing handler must not break the socket loop; report it to the page
        if (event !== 'error') this.emit('error', err instanceof Error ? err : new Error(String(err)));
      }
    }
  }
}

/** `new ParleyClient(opts)` and `connect()` in one call. */
export async function connectParley(opts: ParleyClientOptions): Promise<ParleyClient> {
  const client = new ParleyClient(opts);
  await client.connect();
  return client;
}

function wsUrl(base: string, token: string | undefined): string {
  const url = new URL(base.replace(/^http/, 'ws'));
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/ws/';
  if (token !== undefined) url.searchParams.set('token', token);
  return url.toString();
}

/** 32 hex digits from the platform's CSPRNG (browsers and Node 20 both have `crypto`). */
export function randomId(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID().replace(/-/g, '');
  const bytes = c.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
