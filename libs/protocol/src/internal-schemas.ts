/**
 * Schemas of the internal messages that are not requests: domain events on the
 * stream and pushes on user subjects. Consumers validate what they receive
 * (a malformed event is dead-lettered, a malformed push dropped), and the
 * `satisfies` clauses tie each schema to its TypeScript type.
 */
import { z } from 'zod';
import type { MemberState, MessageCreatedEvent, MessageSeenEvent, Recipient } from './domain-events.js';
import type { FileDto, MessageDto, UserDto } from './dto.js';
import type { FeedEntry, PushMessage } from './events.js';

const isoDate = z.string().min(1).max(64);
const int = z.number().int();

export const userDtoSchema = z.object({
  id: int,
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  github_url: z.string().nullable(),
  avatar: z.string().nullable(),
  thumbnail_avatar: z.string().nullable(),
  email_notifications: z.boolean(),
  email_confirmed: z.boolean(),
  is_support: z.boolean(),
  status_online: z.boolean(),
}) satisfies z.ZodType<UserDto>;

export const fileDtoSchema = z.object({
  id: int,
  date_created: isoDate,
  content: z.string(),
  url: z.string(),
  file_name: z.string(),
  size: int,
  content_type: z.string(),
  type: z.union([z.literal(1), z.literal(2)]),
}) satisfies z.ZodType<FileDto>;

const messageFields = {
  id: int,
  dialog: int,
  user: userDtoSchema,
  body: z.string(),
  markdown_body: z.string(),
  file: fileDtoSchema.nullable(),
  lesson: int.nullable(),
  date_created: isoDate,
  date_read: isoDate.nullable(),
};

export const messageDtoSchema = z.object({
  ...messageFields,
  reply: z.object(messageFields).nullable(),
}) satisfies z.ZodType<MessageDto>;

export const memberStateSchema = z.object({
  user_id: int,
  dialogs_unread: int,
  dialog_unread: int,
  counters_changed: z.boolean(),
  counters_version: int.optional(),
  awaiting: z.object({ count: int, oldest_since: z.string().nullable() }).optional(),
}) satisfies z.ZodType<MemberState>;

export const recipientSchema = z.object({
  user_id: int,
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  email_notifications: z.boolean(),
  is_active: z.boolean(),
  role: z.enum(['student', 'reviewer', 'support', 'admin']),
}) satisfies z.ZodType<Recipient>;

const eventBase = {
  id: z.string().min(1).max(64),
  occurred_at: isoDate,
  origin: z.object({ user_id: int, conn_id: z.string().nullable() }),
  request_id: z.string().nullable().optional(),
};

export const messageCreatedEventSchema = z.object({
  ...eventBase,
  type: z.literal('message.created'),
  dialog_id: int,
  with_role: z.literal('support').nullable(),
  message: messageDtoSchema,
  members: z.array(memberStateSchema),
  recipients: z.array(recipientSchema),
}) satisfies z.ZodType<MessageCreatedEvent>;

export const messageSeenEventSchema = z.object({
  ...eventBase,
  type: z.literal('message.seen'),
  dialog_id: int,
  message: messageDtoSchema,
  seen_ids: z.array(int),
  members: z.array(memberStateSchema),
}) satisfies z.ZodType<MessageSeenEvent>;

export const domainEventSchema = z.discriminatedUnion('type', [
  messageCreatedEventSchema,
  messageSeenEventSchema,
]);

const countsSchema = z.object({ count: int, dialog_id: int });
const statusSchema = z.object({ user_id: int, status_online: z.boolean() });
const awaitingSchema = z.object({ count: int, oldest_since: z.string().nullable() });

export const pushItemSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('dialogs.messages.create'), data: messageDtoSchema }),
  z.object({ event: z.literal('dialogs.messages.seen'), data: messageDtoSchema }),
  z.object({ event: z.literal('notifications.dialogs.count'), data: int }),
  z.object({ event: z.literal('notifications.dialogs.messages.count'), data: countsSchema }),
  z.object({ event: z.literal('notifications.dialogs.awaiting.count'), data: awaitingSchema }),
  z.object({ event: z.literal('users.status.online'), data: statusSchema }),
]);

export const pushMessageSchema = z.object({
  items: z.array(pushItemSchema),
  origin_conn: z.string().nullable().optional(),
  skip_origin: z.array(int).optional(),
}) satisfies z.ZodType<PushMessage>;

/** the frames a user's feed holds (PROTOCOL.md §8): every push but `users.status.online` */
export const feedItemSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('dialogs.messages.create'), data: messageDtoSchema }),
  z.object({ event: z.literal('dialogs.messages.seen'), data: messageDtoSchema }),
  z.object({ event: z.literal('notifications.dialogs.count'), data: int }),
  z.object({ event: z.literal('notifications.dialogs.messages.count'), data: countsSchema }),
  z.object({ event: z.literal('notifications.dialogs.awaiting.count'), data: awaitingSchema }),
]);

export const feedEntrySchema = z.object({
  item: feedItemSchema,
  origin_conn: z.string().nullable().optional(),
  version: int.optional(),
}) satisfies z.ZodType<FeedEntry>;
/** `<prefix>.user.deactivated`: the admin API set `is_active: false` for this user. */
export const userDeactivatedSchema = z.object({ user_id: int.positive() });
export type UserDeactivated = z.infer<typeof userDeactivatedSchema>;
