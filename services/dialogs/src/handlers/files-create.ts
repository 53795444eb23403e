/** `files.create`: record an upload's metadata (the gateway stored the bytes under `storage_key`). */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { findFile, insertFile } from '../db/repositories/files.js';
import { isDuplicateKey } from '../db/sql.js';
import { nowUtc } from '../dto/dates.js';
import { fileDto, fileKindOf } from '../dto/files.js';

/** URL-safe printable ASCII, no path tricks */
const STORAGE_KEY = /^(?!.*\.\.)[A-Za-z0-9._~!$&'()*+,;=:@%/-]+$/;

export const filesCreate =
  (ctx: DialogsContext): Handler<'files.create'> =>
  async ({ caller, params }) => {
    if (!STORAGE_KEY.test(params.storage_key) || params.storage_key.startsWith('/')) {
      throw ParleyError.invalid('storage_key');
    }
    let id: number;
    try {
      id = await insertFile(ctx.sql, {
        owner_id: caller.user_id,
        storage_key: params.storage_key,
        file_name: params.file_name,
        size: params.size,
        content_type: params.content_type,
        kind: fileKindOf(params.content_type),
        date_created: nowUtc(),
      });
    } catch (err) {
      if (isDuplicateKey(err)) throw ParleyError.invalid('storage_key');
      throw err;
    }
    const row = await findFile(ctx.sql, id);
    return { data: fileDto(row!, ctx.config) };
  };
