/** `files.get`: a file by storage key (GET /media/…), with its owner. */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { findFileByKey } from '../db/repositories/files.js';
import { fileDto } from '../dto/files.js';

export const filesGet =
  (ctx: DialogsContext): Handler<'files.get'> =>
  async ({ storage_key }) => {
    const row = await findFileByKey(ctx.sql, storage_key);
    if (!row) throw new ParleyError('not_found');
    return { data: { ...fileDto(row, ctx.config), owner_id: row.owner_id } };
  };
