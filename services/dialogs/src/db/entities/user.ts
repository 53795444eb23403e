import type { UserRole } from '@parley/protocol';
import { EntitySchema } from 'typeorm';

/** A row of `users`: the profile of the contract plus role, reviewer and the unread-dialogs counter. */
export interface UserRow {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  github_url: string | null;
  avatar: string | null;
  thumbnail_avatar: string | null;
  role: UserRole;
  reviewer_id: number | null;
  email_notifications: number;
  email_confirmed: number;
  is_active: number;
  /** member dialogs (not team dialogs of a support user) with unread messages from others */
  unread_dialogs: number;
  /** bumped with every change of this user's counters (migration 0004) */
  counters_version: number;
  /** staff users: plain dialogs awaiting their reply (PROTOCOL.md §9; the team's count is apart) */
  awaiting_count: number;
  date_joined: string;
  date_updated: string;
}

export const UserEntity = new EntitySchema<UserRow>({
  name: 'User',
  tableName: 'users',
  columns: {
    id: { type: 'bigint', unsigned: true, primary: true },
    email: { type: 'varchar', length: 254, default: '' },
    first_name: { type: 'varchar', length: 150, default: '' },
    last_name: { type: 'varchar', length: 150, default: '' },
    github_url: { type: 'varchar', length: 255, nullable: true },
    avatar: { type: 'varchar', length: 255, nullable: true },
    thumbnail_avatar: { type: 'varchar', length: 255, nullable: true },
    role: { type: 'varchar', length: 16, default: 'student' },
    reviewer_id: { type: 'bigint', unsigned: true, nullable: true },
    email_notifications: { type: 'tinyint', default: 1 },
    email_confirmed: { type: 'tinyint', default: 0 },
    is_active: { type: 'tinyint', default: 1 },
    unread_dialogs: { type: 'int', default: 0 },
    counters_version: { type: 'bigint', unsigned: true, default: 0 },
    awaiting_count: { type: 'int', default: 0 },
    date_joined: { type: 'datetime', precision: 6 },
    date_updated: { type: 'datetime', precision: 6 },
  },
  indices: [{ name: 'ix_users_role', columns: ['role', 'id'] }],
});
