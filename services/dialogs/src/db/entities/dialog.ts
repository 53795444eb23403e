import type { DialogRole } from '@parley/protocol';
import { EntitySchema } from 'typeorm';

/** A row of `dialogs`, with its denormalized activity, message count and support-team unread counter. */
export interface DialogRow {
  id: number;
  with_role: DialogRole | null;
  /** `min:max` user ids of a dialog made by `dialogs.new_message` (find-or-create is race free) */
  pair_key: string | null;
  date_created: string;
  /** last message time, else the creation time */
  last_activity: string;
  last_message_id: number | null;
  message_count: number;
  /** support dialogs: unread messages not written by a support user (the team's counter) */
  team_unread: number;
  /** PROTOCOL.md §9: the date of the oldest message of the unanswered run, or null */
  awaiting_since: string | null;
}

export const DialogEntity = new EntitySchema<DialogRow>({
  name: 'Dialog',
  tableName: 'dialogs',
  columns: {
    id: { type: 'bigint', unsigned: true, primary: true, generated: 'increment' },
    with_role: { type: 'varchar', length: 16, nullable: true },
    pair_key: { type: 'varchar', length: 64, nullable: true, unique: true },
    date_created: { type: 'datetime', precision: 6 },
    last_activity: { type: 'datetime', precision: 6 },
    last_message_id: { type: 'bigint', unsigned: true, nullable: true },
    message_count: { type: 'int', default: 0 },
    team_unread: { type: 'int', default: 0 },
    awaiting_since: { type: 'datetime', precision: 6, nullable: true },
  },
  indices: [
    { name: 'ix_dialogs_role_activity', columns: ['with_role', 'last_activity', 'id'] },
    { name: 'ix_dialogs_role_awaiting', columns: ['with_role', 'awaiting_since', 'id'] },
  ],
});
