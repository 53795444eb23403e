import { EntitySchema } from 'typeorm';

/** A row of `dialog_members`: membership, the read pointer and the member's unread counter. */
export interface DialogMemberRow {
  dialog_id: number;
  user_id: number;
  /** order of the members as the dialog was created with them */
  position: number;
  /** copy of `dialogs.with_role IS NOT NULL` (index-only dialog lists) */
  team_dialog: number;
  /** copy of `dialogs.last_activity` (index-ordered dialog lists) */
  last_activity: string;
  /** unread messages in this dialog written by someone else */
  unread_count: number;
  /** highest message id this member marked seen */
  last_read_message_id: number | null;
  date_joined: string;
  /** plain dialogs, staff members: copy of `dialogs.awaiting_since` (the member's queue, index-ordered) */
  awaiting_since: string | null;
}

export const DialogMemberEntity = new EntitySchema<DialogMemberRow>({
  name: 'DialogMember',
  tableName: 'dialog_members',
  columns: {
    dialog_id: { type: 'bigint', unsigned: true, primary: true },
    user_id: { type: 'bigint', unsigned: true, primary: true },
    position: { type: 'smallint', unsigned: true, default: 0 },
    team_dialog: { type: 'tinyint', default: 0 },
    last_activity: { type: 'datetime', precision: 6 },
    unread_count: { type: 'int', default: 0 },
    last_read_message_id: { type: 'bigint', unsigned: true, nullable: true },
    date_joined: { type: 'datetime', precision: 6 },
    awaiting_since: { type: 'datetime', precision: 6, nullable: true },
  },
  indices: [
    { name: 'ix_members_user_activity', columns: ['user_id', 'team_dialog', 'last_activity', 'dialog_id'] },
    { name: 'ix_members_user_awaiting', columns: ['user_id', 'awaiting_since', 'dialog_id'] },
  ],
});
