/** Domain events as dialogs writes them (libs/testing fixtures), with the notifier suites' defaults. */
import type { MemberState, MessageCreatedEvent, MessageDto, MessageSeenEvent } from '@parley/protocol';
import { createdEvent, seenEvent } from '@parley/testing';

export { member, message, user } from '@parley/testing';

export function created(
  msg: MessageDto,
  members: MemberState[],
  conn_id: string | null = 'conn-a',
): MessageCreatedEvent {
  return createdEvent(msg, { members, conn_id });
}

export function seen(
  msg: MessageDto,
  reader: number,
  members: MemberState[],
  conn_id: string | null = 'conn-r',
): MessageSeenEvent {
  return seenEvent(msg, reader, { members, conn_id });
}
