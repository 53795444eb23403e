/**
 * `users.upsert_from_claims`: create the user on first connect (role student,
 * active, e-mail notifications on) and refresh e-mail and names from the claims
 * that carry them. Answers the record (the gateway refuses inactive users).
 */
import type { Handler } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { findUser, insertUserIfMissing, type ProfileFields, updateUser } from '../db/repositories/users.js';
import { nowUtc } from '../dto/dates.js';
import { userRecordDto } from '../dto/users.js';

export const usersUpsertFromClaims =
  (ctx: DialogsContext): Handler<'users.upsert_from_claims'> =>
  async ({ claims }) => {
    const fields: ProfileFields = {};
    if (claims.email !== undefined) fields.email = claims.email;
    if (claims.first_name !== undefined) fields.first_name = claims.first_name;
    if (claims.last_name !== undefined) fields.last_name = claims.last_name;
    const now = nowUtc();
    const inserted = await insertUserIfMissing(ctx.sql, claims.user_id, fields, now);
    if (!inserted) await updateUser(ctx.sql, claims.user_id, fields, now);
    const row = await findUser(ctx.sql, claims.user_id);
    if (!row) throw new ParleyError('internal');
    return { data: userRecordDto(row, ctx.presence) };
  };
