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
  'notifications.dialogs.awaiting.count',
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
  'notifications.dialogs.awaiting.count': AwaitingCount;
}

/**
 * PROTOCOL.md §9: how many dialogs await the user's reply (for support users: the team's too) and the
 * oldest `awaiting_reply_since` among them (null when none).
 */
export interface AwaitingCount {
  count: number;
  oldest_since: string | null;
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
  'notifications.dialogs.awaiting.count': AwaitingCount;
}

export type PushEvent = keyof PushPayloads;

export const PUSH_EVENTS: readonly PushEvent[] = [
  'dialogs.messages.create',
  'dialogs.messages.seen',
  'notifications.dialogs.count',
  'notifications.dialogs.messages.count',
  'users.status.online',
  'notifications.dialogs.awaiting.count',
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

/** Pushes that go through the user's feed and carry `seq` (PROTOCOL.md §8). */
export type FeedEvent = Exclude<PushEvent, 'users.status.online'>;
export type FeedItem = Extract<PushItem, { event: FeedEvent }>;

export const FEED_EVENTS: readonly FeedEvent[] = [
  'dialogs.messages.create',
  'dialogs.messages.seen',
  'notifications.dialogs.count',
  'notifications.dialogs.messages.count',
  'notifications.dialogs.awaiting.count',
];

/**
 * One entry of a user's feed: one push frame, stored in the feed stream (its `seq` is the stream
 * sequence) and republished to the user's push subject for live delivery.
 */
export interface FeedEntry {
  item: FeedItem;
  /** the connection that caused it: it holds the direct answer, so live delivery skips it there */
  origin_conn?: string | null;
  /** counter frames: the user's counters version the values belong to (MemberState.counters_version) */
  version?: number;
}

/** The key a counter frame is collapsed and ordered by; null for message and seen frames. */
export function counterKey(item: FeedItem): string | null {
  if (item.event === 'notifications.dialogs.count') return 'count';
  if (item.event === 'notifications.dialogs.messages.count') return `count:${item.data.dialog_id}`;
  if (item.event === 'notifications.dialogs.awaiting.count') return 'awaiting';
  return null;
}

/**
 * Events the gateway answers itself (not forwarded to `dialogs`): `sync` replays the user's feed
 * (PROTOCOL.md §8).
 */
export const GATEWAY_EVENTS = ['sync'] as const;
export type GatewayEvent = (typeof GATEWAY_EVENTS)[number];

export function isGatewayEvent(value: unknown): value is GatewayEvent {
  return typeof value === 'string' && (GATEWAY_EVENTS as readonly string[]).includes(value);
}

/** The answer to `sync`. */
export interface SyncAnswer {
  /** the user's latest feed seq */
  seq: number;
  /** frames replayed before this answer */
  replayed: number;
  /** `since` is older than the retention or unknown: nothing was replayed, reload with `dialogs.load` */
  resync_required?: true;
}

export type AnswerMeta = PageMeta;
