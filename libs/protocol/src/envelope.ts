/** The frame envelope of PROTOCOL.md §2, both directions. */
import type { PageMeta } from './dto.js';
import { type ErrorBody, humanMessage, type Locale, ParleyError } from './errors.js';
import {
  type ClientEvent,
  type FeedItem,
  type GatewayEvent,
  isClientEvent,
  isGatewayEvent,
  type PushItem,
} from './events.js';
import { requestId } from './schemas.js';

export type RequestId = string | number;

export interface AnswerFrame<T = unknown> {
  type: 'ws_send';
  event: string;
  data: T;
  meta?: PageMeta;
  request_id?: RequestId;
  /** pushes from the user's feed (PROTOCOL.md §8) */
  seq?: number;
}

export interface ErrorFrame {
  type: 'ws_send';
  event: string;
  exception: true;
  data: string;
  error: { code: ErrorBody['code']; message: string; field?: string };
  request_id?: RequestId;
}

export type ServerFrame = AnswerFrame | ErrorFrame;

export interface ClientFrame {
  event: ClientEvent | GatewayEvent;
  request_id?: RequestId;
  /** everything but `event` and `request_id`, not yet validated */
  params: Record<string, unknown>;
}

/** Thrown by parseClientFrame: the error and the event name to answer under. */
export class FrameError extends Error {
  constructor(
    readonly error: ParleyError,
    readonly event: string,
    readonly request_id?: RequestId,
  ) {
    super(error.message);
  }
}

/** Parse one text frame. Bad JSON / non-object / no event → `bad_request` under event "error". */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameError(new ParleyError('bad_request', { message: 'frame is not valid JSON' }), 'error');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FrameError(new ParleyError('bad_request', { message: 'frame must be a JSON object' }), 'error');
  }
  const { event, request_id, ...params } = value as Record<string, unknown>;
  let rid: RequestId | undefined;
  if (request_id !== undefined && request_id !== null) {
    const parsed = requestId.safeParse(request_id);
    if (!parsed.success) {
      throw new FrameError(
        ParleyError.invalid('request_id'),
        typeof event === 'string' ? event.slice(0, 100) : 'error',
      );
    }
    rid = parsed.data;
  }
  if (typeof event !== 'string' || event === '') {
    throw new FrameError(new ParleyError('bad_request', { message: 'event is required' }), 'error', rid);
  }
  if (!isClientEvent(event) && !isGatewayEvent(event)) {
    throw new FrameError(new ParleyError('unknown_event'), event.slice(0, 100), rid);
  }
  const frame: ClientFrame = { event, params };
  if (rid !== undefined) frame.request_id = rid;
  return frame;
}

export function answerFrame<T>(
  event: string,
  data: T,
  opts: { meta?: PageMeta | undefined; request_id?: RequestId | undefined } = {},
): AnswerFrame<T> {
  const frame: AnswerFrame<T> = { type: 'ws_send', event, data };
  if (opts.meta) frame.meta = opts.meta;
  if (opts.request_id !== undefined) frame.request_id = opts.request_id;
  return frame;
}

export function errorFrame(
  event: string,
  err: ParleyError,
  locale: Locale,
  request_id?: RequestId,
): ErrorFrame {
  const error: ErrorFrame['error'] = { code: err.code, message: err.message };
  if (err.field !== undefined) error.field = err.field;
  const frame: ErrorFrame = {
    type: 'ws_send',
    event,
    exception: true,
    data: humanMessage(err, locale),
    error,
  };
  if (request_id !== undefined) frame.request_id = request_id;
  return frame;
}

export function pushFrame(item: PushItem): AnswerFrame {
  return { type: 'ws_send', event: item.event, data: item.data };
}

/** A push from the user's feed: the frame with its `seq` (PROTOCOL.md §8). */
export function feedFrame(item: FeedItem, seq: number): AnswerFrame {
  return { type: 'ws_send', event: item.event, data: item.data, seq };
}
