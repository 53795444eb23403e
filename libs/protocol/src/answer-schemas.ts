/**
 * zod schemas of what the server answers and pushes (PROTOCOL.md §3, §4), for the AsyncAPI document.
 * Each is tied to its TypeScript type by `satisfies`, so the document cannot drift from the types the
 * services compile against.
 */
import { z } from 'zod';
import type { DialogDto, PageMeta, PlaceholderMessageDto } from './dto.js';
import type { ClientAnswers, ClientEvent, PushPayloads } from './events.js';
import { messageDtoSchema, userDtoSchema } from './internal-schemas.js';

const int = z.number().int();

export const placeholderMessageSchema = z.object({
  id: z.null(),
  dialog: z.null(),
  user: z.object({
    email: z.string(),
    first_name: z.literal(''),
    last_name: z.literal(''),
    github_url: z.literal(''),
    avatar: z.null(),
    thumbnail_avatar: z.null(),
    email_notifications: z.literal(false),
    email_confirmed: z.literal(false),
    is_support: z.literal(false),
    status_online: z.literal(false),
  }),
  body: z.null(),
  markdown_body: z.null(),
  file: z.object({ content: z.null() }),
  lesson: z.null(),
  reply: z.null(),
  date_created: z.null(),
  date_read: z.null(),
}) satisfies z.ZodType<PlaceholderMessageDto>;

export const dialogDtoSchema = z.object({
  id: int,
  last_message: z.union([messageDtoSchema, placeholderMessageSchema]),
  user: z.union([userDtoSchema, z.object({}).strict()]),
  users: z.array(userDtoSchema),
  unread_messages_count: int,
  with_role: z.literal('support').nullable(),
  date_created: z.string(),
  awaiting_reply_since: z.string().nullable(),
}) satisfies z.ZodType<DialogDto>;

export const pageMetaSchema = z.object({ limit: int, offset: int, total: int }) satisfies z.ZodType<PageMeta>;

const counts = z.object({ count: int, dialog_id: int });
const status = z.object({ user_id: int, status_online: z.boolean() });
export const awaitingCountSchema = z.object({ count: int, oldest_since: z.string().nullable() });

/** `data` of the direct answer to each client event */
export const clientAnswerSchemas = {
  'dialogs.load': z.array(dialogDtoSchema),
  'dialogs.messages.load': z.array(messageDtoSchema),
  'dialogs.messages.create': messageDtoSchema,
  'dialogs.messages.seen': messageDtoSchema,
  'notifications.dialogs.count': int,
  'notifications.dialogs.messages.count': counts,
  'users.status.online': status,
  'dialogs.messages.search.id': z.object({ offset: int, limit: int, to_skip_count: int }),
  'notifications.dialogs.awaiting.count': awaitingCountSchema,
} satisfies { [E in ClientEvent]: z.ZodType<ClientAnswers[E]> };

/** `data` of each push */
export const pushPayloadSchemas = {
  'dialogs.messages.create': messageDtoSchema,
  'dialogs.messages.seen': messageDtoSchema,
  'notifications.dialogs.count': int,
  'notifications.dialogs.messages.count': counts,
  'users.status.online': status,
  'notifications.dialogs.awaiting.count': awaitingCountSchema,
} satisfies { [E in keyof PushPayloads]: z.ZodType<PushPayloads[E]> };
