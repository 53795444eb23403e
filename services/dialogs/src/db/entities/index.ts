/** Every entity of the schema (one per file). */
import { DialogEntity } from './dialog.js';
import { DialogMemberEntity } from './dialog-member.js';
import { FileEntity } from './file.js';
import { MessageEntity } from './message.js';
import { OutboxEntity } from './outbox-event.js';
import { UserEntity } from './user.js';

export type { DialogRow } from './dialog.js';
export type { DialogMemberRow } from './dialog-member.js';
export type { FileRow } from './file.js';
export type { MessageRow } from './message.js';
export type { OutboxRow } from './outbox-event.js';
export type { UserRow } from './user.js';
export { DialogEntity, DialogMemberEntity, FileEntity, MessageEntity, OutboxEntity, UserEntity };

export const entities = [
  UserEntity,
  DialogEntity,
  DialogMemberEntity,
  MessageEntity,
  FileEntity,
  OutboxEntity,
];
