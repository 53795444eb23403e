/** Domain objects and events shaped as `dialogs` writes them, for suites that publish events directly. */
import { randomUUID } from 'node:crypto';
import type {
  MemberState,
  MessageCreatedEvent,
  MessageDto,
  MessageSeenEvent,
  Recipient,
  UserDto,
} from '@parley/protocol';

export function user(id: number, over: Partial<UserDto> = {}): UserDto {
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
    ...over,
  };
}

export function message(
  id: number,
  dialog: number,
  author: number,
  body = `<p>message ${id}</p>`,
): MessageDto {
  return {
    id,
    dialog,
    user: user(author),
    body,
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

export function recipient(id: number, over: Partial<Recipient> = {}): Recipient {
  return {
    user_id: id,
    email: `u${id}@example.test`,
    first_name: `First${id}`,
    last_name: `Last${id}`,
    email_notifications: true,
    is_active: true,
    role: 'student',
    ...over,
  };
}

export function createdEvent(
  msg: MessageDto,
  opts: { members?: MemberState[]; recipients?: Recipient[]; conn_id?: string | null } = {},
): MessageCreatedEvent {
  return {
    id: randomUUID(),
    type: 'message.created',
    occurred_at: new Date().toISOString(),
    origin: { user_id: msg.user.id, conn_id: opts.conn_id ?? null },
    dialog_id: msg.dialog,
    with_role: null,
    message: msg,
    members: opts.members ?? [],
    recipients: opts.recipients ?? [],
  };
}

export function seenEvent(
  msg: MessageDto,
  reader: number,
  opts: { members?: MemberState[]; conn_id?: string | null } = {},
): MessageSeenEvent {
  return {
    id: randomUUID(),
    type: 'message.seen',
    occurred_at: new Date().toISOString(),
    origin: { user_id: reader, conn_id: opts.conn_id ?? null },
    dialog_id: msg.dialog,
    message: { ...msg, date_read: new Date().toISOString() },
    seen_ids: [msg.id],
    members: opts.members ?? [],
  };
}
