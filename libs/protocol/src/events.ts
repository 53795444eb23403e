/** Client event names (PROTOCOL.md §4) and the push events the server sends. */
import type { DialogDto, MessageDto, PageMeta } from './dto.js';

export const CLIENT_EVENTS = [
  'dialogs.load',
  'dialogs.messages.load',
  'dialogs.messages.create',
  'dialogs.messages.seen',
  'notifications.dialogs.count',
  'notifications.dialogs.messages.count',
  'users.status.online',
  'dialogs.messages.search.id',
] as const;

export type ClientEvent = (typeof CLIENT_EVENTS)[number];

export function isClientEvent(value: unknown): value is ClientEvent {
  return typeof value === 'string' && (CLIENT_EVENTS as readonly string[]).includes(value);
}

/** The `data` of a direct answer to each client event. */
export interface ClientAnswers {
  'dialogs.load': DialogDto[];
  'dialogs.messages.load': MessageDto[];
  'dialogs.messages.create': MessageDto;
  'dialogs.messages.seen': MessageDto;
  'notifications.dialogs.count': number;
  'notifications.dialogs.messages.count': { count: number; dialog_id: number };
  'users.status.online': { user_id: number; status_online: boolean };
  'dialogs.messages.search.id': { offset: number; limit: number; to_skip_count: number };
}

/** Events that carry `meta` in their answer. */
export const PAGINATED_EVENTS: readonly ClientEvent[] = ['dialogs.load', 'dialogs.messages.load'];

/** Frames the server pushes without a request, with their `data`. */
export interface PushPayloads {
  'dialogs.messages.create': MessageDto;
  'dialogs.messages.seen': MessageDto;
  'notifications.dialogs.count': number;
  'notifications.dialogs.messages.count': { count: number; dialog_id: number };
  'users.status.online': { user_id: number; status_online: boolean };
}

export type PushEvent = keyof PushPayloads;

export const PUSH_EVENTS: readonly PushEvent[] = [
  'dialogs.messages.create',
  'dialogs.messages.seen',
  'notifications.dialogs.count',
  'notifications.dialogs.messages.count',
  'users.status.online',
];

export type PushItem = { [K in PushEvent]: { event: K; data: PushPayloads[K] } }[PushEvent];

/** One NATS message on a user's push subject: frames in order for every socket of the user. */
export interface PushMessage {
  items: PushItem[];
  /** the connection that asked: it already has the direct answer, so it skips items marked `skip_origin` */
  origin_conn?: string | null;
  /** indexes of `items` that the originating connection must not receive */
  skip_origin?: number[];
}

export type AnswerMeta = PageMeta;
