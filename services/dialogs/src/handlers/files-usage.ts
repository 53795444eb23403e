/** `files.usage`: bytes the caller uploaded in the last `window_hours` (the gateway's upload quota). */
import type { Handler } from '@parley/bus';
import type { DialogsContext } from '../context.js';
import { uploadedBytesSince } from '../db/repositories/files.js';
import { utcAgo } from '../dto/dates.js';

export const filesUsage =
  (ctx: DialogsContext): Handler<'files.usage'> =>
  async ({ caller, window_hours }) => {
    const bytes = await uploadedBytesSince(ctx.sql, caller.user_id, utcAgo(window_hours * 3_600_000));
    return { data: { bytes } };
  };
