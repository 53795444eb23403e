/**
 * The internal request map: every command `dialogs` serves on
 * `<prefix>.rpc.<command>`, its request schema and its response type.
 * Client events are forwarded under their own names with the caller's identity.
 */
import { z } from 'zod';
import type {
  DialogDto,
  FileDto,
  MessageDto,
  PageMeta,
  ReminderDue,
  ResponseTimesStats,
  UserDto,
  UserRecordDto,
} from './dto.js';
import { CLIENT_EVENTS, type ClientAnswers, type ClientEvent } from './events.js';
import { clientParams, HARD_MAX_BODY_CHARS, id } from './schemas.js';

/** Who is asking: set by the gateway from the verified JWT, never by the client. */
export const callerSchema = z.object({
  user_id: id,
  /** the WebSocket connection the request came from (null for HTTP) */
  conn_id: z.string().max(64).nullable().default(null),
});
export type Caller = z.output<typeof callerSchema>;

function clientRpc<E extends ClientEvent>(event: E) {
  return z.object({ caller: callerSchema, params: clientParams[event] });
}

const nullableText = (max: number) =>
  z
    .union([z.null(), z.string().max(max)])
    .optional()
    .transform((v) => v ?? null);

/**
 * An ISO 8601 instant with a zone (`Z` or an offset), as epoch milliseconds; absent: null. Epoch
 * milliseconds are accepted too: the output is parsed again on the dialogs side.
 */
const isoInstant = z
  .union([
    z.null(),
    z.number().int().min(0).max(8_640_000_000_000),
    z
      .string()
      .max(64)
      .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/)
      .transform((v) => Date.parse(v))
      .pipe(z.number().int().min(0).max(8_640_000_000_000)),
  ])
  .optional()
  .transform((v) => v ?? null);

export const userRoleSchema = z.enum(['student', 'reviewer', 'support', 'admin']);

export const claimsSchema = z.object({
  user_id: id,
  email: z.string().max(254).optional(),
  username: z.string().max(254).optional(),
  first_name: z.string().max(150).optional(),
  last_name: z.string().max(150).optional(),
});

const internalRequests = {
  /** upsert the profile from verified JWT claims; answers the user record */
  'users.upsert_from_claims': z.object({ claims: claimsSchema }),
  /** the user ids that share at least one dialog with `user_id` (presence fan-out) */
  'users.contacts': z.object({ user_id: id }),
  /** PATCH /api/users/me/ */
  'users.update_me': z.object({
    caller: callerSchema,
    params: z.object({ email_notifications: z.boolean() }),
  }),
  /** POST /api/dialogs/new-message/ */
  'dialogs.new_message': z.object({
    caller: callerSchema,
    params: z.object({
      body: nullableText(HARD_MAX_BODY_CHARS),
      file_id: id
        .nullable()
        .optional()
        .transform((v) => v ?? null),
      lesson_id: id
        .nullable()
        .optional()
        .transform((v) => v ?? null),
      client_id: nullableText(64),
    }),
  }),
  /** record an uploaded file's metadata after its bytes are stored */
  'files.create': z.object({
    caller: callerSchema,
    params: z.object({
      storage_key: z.string().min(1).max(255),
      file_name: z.string().min(1).max(255),
      size: z.number().int().min(0),
      content_type: z.string().min(1).max(127),
    }),
  }),
  /** bytes the caller uploaded in the last `window_hours` (the gateway's per-user upload quota) */
  'files.usage': z.object({
    caller: callerSchema,
    window_hours: z
      .number()
      .positive()
      .max(24 * 366),
  }),
  /** look a file up by its storage key (GET /media/...) */
  'files.get': z.object({ storage_key: z.string().min(1).max(255) }),
  'admin.users.upsert': z.object({
    id,
    email: nullableText(254),
    first_name: nullableText(150),
    last_name: nullableText(150),
    github_url: nullableText(255),
    avatar: nullableText(255),
    role: userRoleSchema.optional(),
    reviewer_id: id.nullable().optional(),
    email_notifications: z.boolean().optional(),
    email_confirmed: z.boolean().optional(),
    is_active: z.boolean().optional(),
  }),
  'admin.dialogs.create': z.object({
    users: z.array(id).max(50).default([]),
    with_role: z
      .enum(['support'])
      .nullable()
      .optional()
      .transform((v) => v ?? null),
  }),
  'admin.dialogs.list': z.object({
    user_id: id
      .nullable()
      .optional()
      .transform((v) => v ?? null),
  }),
  /**
   * the mailer's daily reminder (PROTOCOL.md §9): staff users with a dialog awaiting their reply
   * since before `before` (epoch ms), each with those dialogs, oldest first (at most `limit`)
   */
  'reminders.due': z.object({
    before: z.number().int().min(0).max(8_640_000_000_000),
    limit: z.number().int().min(1).max(100).default(50),
  }),
  /** GET /api/admin/stats/response-times (PROTOCOL.md §9): the window `[from, to)`, default the last 30 days */
  'admin.stats.response_times': z.object({
    from: isoInstant,
    to: isoInstant,
    reviewer_id: id
      .nullable()
      .optional()
      .transform((v) => v ?? null),
  }),
} as const;

export const rpcRequests = {
  ...(Object.fromEntries(CLIENT_EVENTS.map((e) => [e, clientRpc(e)])) as {
    [E in ClientEvent]: ReturnType<typeof clientRpc<E>>;
  }),
  ...internalRequests,
};

export type RpcCommand = keyof typeof rpcRequests;
export const RPC_COMMANDS = Object.keys(rpcRequests) as RpcCommand[];

export type RpcRequest<C extends RpcCommand> = z.input<(typeof rpcRequests)[C]>;
export type RpcParsed<C extends RpcCommand> = z.output<(typeof rpcRequests)[C]>;

/** A successful answer: `data` and, for paginated loads, `meta`. */
export interface RpcReply<T> {
  data: T;
  meta?: PageMeta;
}

export interface RpcResponses extends ClientAnswers {
  'users.upsert_from_claims': UserRecordDto;
  'users.contacts': number[];
  'users.update_me': UserDto;
  'dialogs.new_message': MessageDto;
  'files.create': FileDto;
  'files.get': FileDto & { owner_id: number };
  'files.usage': { bytes: number };
  'admin.users.upsert': UserRecordDto;
  'admin.dialogs.create': DialogDto;
  'admin.dialogs.list': DialogDto[];
  'admin.stats.response_times': ResponseTimesStats;
  'reminders.due': ReminderDue[];
}

export type RpcResponse<C extends RpcCommand> = C extends keyof RpcResponses ? RpcResponses[C] : never;
