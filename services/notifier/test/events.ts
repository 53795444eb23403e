/** Domain events as dialogs writes them, for tests that publish them directly. */
import { randomUUID } from 'node:crypto';
import type {
  MemberState,
  MessageCreatedEvent,
  MessageDto,
  MessageSeenEvent,
  UserDto,
} from '@parley/protocol';

export function user(id: number): UserDto {
  return {
    id,
    email: `u${id}@example.test`,
    first_name: `First${id}`,
    last_name: `Last${id}`,
    github_url: null,
    avatar: '/static/default_avatar.jpg',
    thumbnail_avatar: null,
    email_notifications: true,
    email_confirmed: true,
    is_support: false,
    status_online: false,
  };
}

export function message(id: number, dialog: number, author: number): MessageDto {
  return {
    id,
    dialog,
    user: user(author),
    body: `<p>message ${id}</p>`,
    markdown_body: `message ${id}`,
    file: null,
    lesson: null,
    reply: null,
    date_created: new Date().toISOString(),
    date_read: null,
  };
}

export function member(
  user_id: number,
  dialogs_unread: number,
  dialog_unread: number,
  counters_changed = true,
): MemberState {
  return { user_id, dialogs_unread, dialog_unread, counters_changed };
}

export function created(
  msg: MessageDto,
  members: MemberState[],
  conn_id: string | null = 'conn-a',
): MessageCreatedEvent {
  return {
    id: randomUUID(),
    type: 'message.created',
    occurred_at: new Date().toISOString(),
    origin: { user_id: msg.user.id, conn_id },
    dialog_id: msg.dialog,
    with_role: null,
    message: msg,
    members,
    recipients: [],
  };
}

export function seen(
  msg: MessageDto,
  reader: number,
  members: MemberState[],
  conn_id: string | null = 'conn-r',
): MessageSeenEvent {
  return {
    id: randomUUID(),
    type: 'message.seen',
    occurred_at: new Date().toISOString(),
    origin: { user_id: reader, conn_id },
    dialog_id: msg.dialog,
    message: { ...msg, date_read: new Date().toISOString() },
    seen_ids: [msg.id],
    members,
  };
}
