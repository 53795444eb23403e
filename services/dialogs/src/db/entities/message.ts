import { EntitySchema } from 'typeorm';

/** A row of `messages`: markdown source and the HTML rendered from it at write time. */
export interface MessageRow {
  id: number;
  dialog_id: number;
  /** 1 = the dialog's oldest message; dense (messages are never deleted), unique per dialog */
  position: number;
  user_id: number;
  markdown_body: string;
  body: string;
  file_id: number | null;
  reply_id: number | null;
  lesson_id: number | null;
  /** idempotency key, unique per author */
  client_id: string | null;
  date_created: string;
  date_read: string | null;
}

export const MessageEntity = new EntitySchema<MessageRow>({
  name: 'Message',
  tableName: 'messages',
  columns: {
    id: { type: 'bigint', unsigned: true, primary: true, generated: 'increment' },
    dialog_id: { type: 'bigint', unsigned: true },
    position: { type: 'int', unsigned: true },
    user_id: { type: 'bigint', unsigned: true },
    markdown_body: { type: 'mediumtext' },
    body: { type: 'mediumtext' },
    file_id: { type: 'bigint', unsigned: true, nullable: true },
    reply_id: { type: 'bigint', unsigned: true, nullable: true },
    lesson_id: { type: 'bigint', unsigned: true, nullable: true },
    client_id: { type: 'varchar', length: 64, nullable: true, collation: 'utf8mb4_bin' },
    date_created: { type: 'datetime', precision: 6 },
    date_read: { type: 'datetime', precision: 6, nullable: true },
  },
  indices: [
    { name: 'ix_messages_dialog_id', columns: ['dialog_id', 'id'] },
    { name: 'ux_messages_dialog_position', columns: ['dialog_id', 'position'], unique: true },
    { name: 'ix_messages_dialog_unread', columns: ['dialog_id', 'date_read', 'id'] },
    { name: 'ux_messages_client', columns: ['user_id', 'client_id'], unique: true },
  ],
});
