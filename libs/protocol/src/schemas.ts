/**
 * Runtime schemas (zod) for everything that crosses a process boundary:
 * client event parameters (PROTOCOL.md §4) and the internal requests.
 * Declared once here; the gateway and the services validate with the same ones.
 */
import { z } from 'zod';

/** Integers may arrive as JSON numbers or numeric strings (PROTOCOL.md §4). */
export const intLike = z
  .union([
    z.number(),
    z
      .string()
      .trim()
      .regex(/^-?\d{1,16}$/),
  ])
  .transform((v) => Number(v))
  .pipe(z.number().int().safe());

export const id = intLike.pipe(z.number().int().positive());

/** `limit`: 1..100, default 20; 0 or null mean the default. */
export const limit = z
  .union([z.null(), intLike])
  .optional()
  .transform((v) => (v === null || v === undefined || v === 0 ? 20 : v))
  .pipe(z.number().int().min(1).max(100));

export const offset = z
  .union([z.null(), intLike])
  .optional()
  .transform((v) => v ?? 0)
  .pipe(z.number().int().min(0).max(1_000_000_000));

/** Hard upper bound of any text a client sends; services apply MAX_BODY_CHARS. */
export const HARD_MAX_BODY_CHARS = 100_000;

const optionalId = z
  .union([z.null(), id])
  .optional()
  .transform((v) => v ?? null);

export const requestId = z.union([z.string().max(64), z.number().int().safe()]);

export const clientParams = {
  'dialogs.load': z.object({
    limit,
    offset,
    // PROTOCOL.md §9: only the dialogs awaiting the caller's reply, oldest first
    filter: z
      .union([z.null(), z.literal('awaiting_reply')])
      .optional()
      .transform((v) => v ?? null),
  }),
  'dialogs.messages.load': z.object({ dialog_id: id, limit, offset, before_id: optionalId }),
  'dialogs.messages.create': z.object({
    dialog_id: id,
    body: z
      .union([z.null(), z.string().max(HARD_MAX_BODY_CHARS)])
      .optional()
      .transform((v) => v ?? null),
    file_id: optionalId,
    reply_id: optionalId,
    lesson_id: optionalId,
    client_id: z
      .union([z.null(), z.string().min(1).max(64)])
      .optional()
      .transform((v) => v ?? null),
  }),
  'dialogs.messages.seen': z.object({
    dialog_id: id,
    message_id: id,
    up_to: z
      .union([z.null(), z.boolean()])
      .optional()
      .transform((v) => v ?? false),
  }),
  'notifications.dialogs.count': z.object({}),
  'notifications.dialogs.messages.count': z.object({ dialog_id: id }),
  'users.status.online': z.object({}),
  'dialogs.messages.search.id': z.object({ dialog_id: id, message_id: id, limit }),
  'notifications.dialogs.awaiting.count': z.object({}),
} as const;

export type ClientParams = { [K in keyof typeof clientParams]: z.output<(typeof clientParams)[K]> };

/** `since`: a non-negative integer (numbers or numeric strings, as every integer parameter); absent: none */
export const since = z
  .union([z.null(), intLike.pipe(z.number().int().min(0))])
  .optional()
  .transform((v) => v ?? null);

/** Parameters of the events the gateway answers itself (PROTOCOL.md §8). */
export const gatewayParams = {
  sync: z.object({ since }),
} as const;

export type GatewayParams = { [K in keyof typeof gatewayParams]: z.output<(typeof gatewayParams)[K]> };
