/**
 * Pure rules of PROTOCOL.md §4: which frames each member gets for a domain
 * event, and which of them the requesting socket skips.
 */
import type { MemberState, MessageCreatedEvent, MessageSeenEvent, PushItem } from '@parley/protocol';

export interface MemberPush {
  user_id: number;
  /** the message or seen frame */
  frame: PushItem;
  /** set when the requesting socket (a socket of this user) must not get `frame` */
  frameSkip: string | null;
  /** `notifications.dialogs.count` then `notifications.dialogs.messages.count`, when they may have changed */
  counters: PushItem[];
  /** set when the requesting socket must not get the counters */
  countersSkip: string | null;
}

export function countersOf(dialogId: number, m: MemberState): PushItem[] {
  if (!m.counters_changed) return [];
  return [
    { event: 'notifications.dialogs.count', data: m.dialogs_unread },
    { event: 'notifications.dialogs.messages.count', data: { count: m.dialog_unread, dialog_id: dialogId } },
  ];
}

/** created: every other socket gets the message then the counters; the requesting socket gets none of it. */
export function createdPushes(e: MessageCreatedEvent): MemberPush[] {
  return uniqueMembers(e.members).map((m) => {
    const origin = m.user_id === e.origin.user_id ? e.origin.conn_id : null;
    return {
      user_id: m.user_id,
      frame: { event: 'dialogs.messages.create', data: e.message },
      frameSkip: origin,
      counters: countersOf(e.dialog_id, m),
      countersSkip: origin,
    };
  });
}

/** seen: every other socket gets the seen frame; every socket (the requesting one too) gets the counters. */
export function seenPushes(e: MessageSeenEvent): MemberPush[] {
  return uniqueMembers(e.members).map((m) => ({
    user_id: m.user_id,
    frame: { event: 'dialogs.messages.seen', data: e.message },
    frameSkip: m.user_id === e.origin.user_id ? e.origin.conn_id : null,
    counters: countersOf(e.dialog_id, m),
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
