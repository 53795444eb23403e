/**
 * Domain events `dialogs` writes to its outbox in the same transaction as the
 * change, and relays to the JetStream stream. notifier and mailer consume them;
 * each carries everything its consumers need, so they need no database.
 */
import type { MessageDto, UserRole } from './dto.js';

/** A member's state right after the change, computed in the same transaction. */
export interface MemberState {
  user_id: number;
  /** `notifications.dialogs.count` for this member after the change */
  dialogs_unread: number;
  /** `notifications.dialogs.messages.count` of this dialog for this member */
  dialog_unread: number;
  /** whether this member's counters may have changed (push them only then) */
  counters_changed: boolean;
  /**
   * the user's counters version: bumped in the transaction of every change of this user's counters,
   * so a counter frame older than one a socket already holds can be recognised (PROTOCOL.md §8);
   * absent in events written before it existed
   */
  counters_version?: number;
  /**
   * staff users (PROTOCOL.md §9) whose awaiting-reply queue this change moved: the queue's count and
   * oldest date after it (push `notifications.dialogs.awaiting.count` only when present)
   */
  awaiting?: { count: number; oldest_since: string | null };
}

/** What the mailer needs to know about a recipient. */
export interface Recipient {
  user_id: number;
  email: string;
  first_name: string;
  last_name: string;
  email_notifications: boolean;
  is_active: boolean;
  role: UserRole;
}

export interface DomainEventBase {
  /** unique id (uuid); the JetStream message id, so a relay retry is deduplicated */
  id: string;
  occurred_at: string;
  /** the connection that caused it; it already holds the direct answer */
  origin: { user_id: number; conn_id: string | null };
  /** request id of the request that caused it, for log correlation */
  request_id?: string | null;
}

export interface MessageCreatedEvent extends DomainEventBase {
  type: 'message.created';
  dialog_id: number;
  with_role: 'support' | null;
  message: MessageDto;
  /** every member (support dialogs: every support user too) */
  members: MemberState[];
  /** members other than the author, as the mailer needs them */
  recipients: Recipient[];
}

export interface MessageSeenEvent extends DomainEventBase {
  type: 'message.seen';
  dialog_id: number;
  /** the message the reader named, after the change */
  message: MessageDto;
  /** every message id whose `date_read` this change set */
  seen_ids: number[];
  members: MemberState[];
}

export interface DomainEvents {
  'message.created': MessageCreatedEvent;
  'message.seen': MessageSeenEvent;
}

export type DomainEventType = keyof DomainEvents;
export type DomainEvent = DomainEvents[DomainEventType];
export const DOMAIN_EVENT_TYPES: readonly DomainEventType[] = ['message.created', 'message.seen'];
