/**
 * The typed surface of the client, derived from libs/protocol with type-only imports (nothing of zod
 * reaches a bundle): what each event takes, what it answers, what each push carries.
 */
import type { ClientAnswers, ClientEvent, clientParams, PageMeta, PushPayloads, z } from '@parley/protocol';

export type { DialogDto, ErrorCode, FileDto, MessageDto, UserDto } from '@parley/protocol';
export type { ClientAnswers, ClientEvent, PageMeta, PushPayloads };
export type PushEvent = keyof PushPayloads;

/** What `request(event, params)` accepts: the schema's input (integers may be numeric strings). */
export type RequestParams<E extends ClientEvent> = z.input<(typeof clientParams)[E]>;

/** A direct answer: `data`, and `meta` on the paginated loads. */
export interface Answer<E extends ClientEvent> {
  data: ClientAnswers[E];
  meta?: PageMeta;
}

/** A push as it arrived (`seq` only from a server with PROTOCOL.md §8). */
export interface PushFrame<E extends PushEvent = PushEvent> {
  type: 'ws_send';
  event: E;
  data: PushPayloads[E];
  seq?: number;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Everything `on()` can listen to: every push event, plus the connection's life. */
export type ClientEventMap = { [E in PushEvent]: (data: PushPayloads[E], frame: PushFrame<E>) => void } & {
  /** a socket opened (first connect, reconnect or a token switch) */
  open: (info: { reconnect: boolean }) => void;
  /** the active socket closed; the client reconnects unless `state` is `closed` */
  close: (info: { code: number; reason: string }) => void;
  state: (state: ConnectionState) => void;
  /**
   * the server could not replay what was missed (PROTOCOL.md §8 `resync_required`): reload state,
   * e.g. with `dialogs.load`
   */
  resync: (info: { seq: number }) => void;
  /** the token expired and no `refreshToken` could replace it: the client stopped */
  expired: () => void;
  /** an error frame that answers no request of this client, or a failed token refresh */
  error: (err: Error) => void;
};

/** The constructor of a WebSocket: the browser's, Node 22's global, or the `ws` package's. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The part of the WebSocket API the client uses (the `ws` package offers it too). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', fn: () => void): void;
  addEventListener(type: 'message', fn: (e: { data: unknown }) => void): void;
  addEventListener(type: 'close', fn: (e: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', fn: (e: unknown) => void): void;
}
