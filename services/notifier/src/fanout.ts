/**
 * Pure rules of PROTOCOL.md §4: which frames each member gets for a domain
 * event, and which of them the requesting socket skips.
 */
import type { FeedItem, MemberState, MessageCreatedEvent, MessageSeenEvent } from '@parley/protocol';

export interface MemberPush {
  /** the domain event the frames come from (their feed message ids derive from it) */
  event_id: string;
  user_id: number;
  /** the message or seen frame */
  frame: FeedItem;
  /** set when the requesting socket (a socket of this user) must not get `frame` */
  frameSkip: string | null;
  /** `notifications.dialogs.count` then `notifications.dialogs.messages.count` */
  counters: FeedItem[];
  /** the member's counters version the counters belong to */
  version: number;
  /** set when the requesting socket must not get the counters */
  countersSkip: string | null;
}

export function countersOf(dialogId: number, m: MemberState): FeedItem[] {
  return [
    { event: 'notifications.dialogs.count', data: m.dialogs_unread },
    { event: 'notifications.dialogs.messages.count', data: { count: m.dialog_unread, dialog_id: dialogId } },
  ];
}

/** PROTOCOL.md §9: a staff user's queue frame, only when the event says the queue moved. */
function awaitingOf(m: MemberState): FeedItem[] {
  return m.awaiting ? [{ event: 'notifications.dialogs.awaiting.count', data: m.awaiting }] : [];
}

/**
 * created: every other socket gets the message then the counters; the requesting socket gets none of
 * them — except the author's own queue frame (a reviewer's reply moves the reviewer's queue): the
 * author's counters never move, so when the author has frames they are the queue frame alone, and
 * every socket of the author gets it.
 */
export function createdPushes(e: MessageCreatedEvent): MemberPush[] {
  return uniqueMembers(e.members).map((m) => {
    const origin = m.user_id === e.origin.user_id ? e.origin.conn_id : null;
    const counters = m.counters_changed ? countersOf(e.dialog_id, m) : [];
    return {
      event_id: e.id,
      user_id: m.user_id,
      frame: { event: 'dialogs.messages.create', data: e.message },
      frameSkip: origin,
      counters: [...counters, ...awaitingOf(m)],
      version: m.counters_version ?? 0,
      countersSkip: counters.length ? origin : null,
    };
  });
}

/**
 * seen (§4.4): every member's other sockets get the seen frame and then that member's counter
 * frames, whether or not they moved (the author of the seen message too); the requesting socket
 * gets the counters but not the seen frame.
 */
export function seenPushes(e: MessageSeenEvent): MemberPush[] {
  return uniqueMembers(e.members).map((m) => ({
    event_id: e.id,
    user_id: m.user_id,
    frame: { event: 'dialogs.messages.seen', data: e.message },
    frameSkip: m.user_id === e.origin.user_id ? e.origin.conn_id : null,
    counters: countersOf(e.dialog_id, m),
    version: m.counters_version ?? 0,
    countersSkip: null,
  }));
}

function uniqueMembers(members: MemberState[]): MemberState[] {
  const seen = new Set<number>();
  return members.filter((m) => {
    if (seen.has(m.user_id)) return false;
    seen.add(m.user_id);
    return true;
  });
}
