/** users rows → UserDto / UserRecordDto (PROTOCOL.md §3). */
import type { UserDto, UserRecordDto } from '@parley/protocol';
import type { Presence } from '../context.js';
import type { UserRow } from '../db/entities/user.js';

export const DEFAULT_AVATAR = '/static/default_avatar.jpg';

export function userDto(row: UserRow, presence: Presence | undefined): UserDto {
  return {
    id: row.id,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    github_url: row.github_url,
    avatar: row.avatar ?? DEFAULT_AVATAR,
    thumbnail_avatar: row.thumbnail_avatar,
    email_notifications: Boolean(row.email_notifications),
    email_confirmed: Boolean(row.email_confirmed),
    is_support: row.role === 'support',
    status_online: presence?.isOnline(row.id) ?? false,
  };
}

export function userRecordDto(row: UserRow, presence: Presence | undefined): UserRecordDto {
  return {
    ...userDto(row, presence),
    role: row.role,
    reviewer_id: row.reviewer_id,
    is_active: Boolean(row.is_active),
  };
}

/** A member or author whose users row is missing (never created by the admin API): an empty profile. */
export function unknownUserDto(id: number): UserDto {
  return {
    id,
    email: '',
    first_name: '',
    last_name: '',
    github_url: null,
    avatar: DEFAULT_AVATAR,
    thumbnail_avatar: null,
    email_notifications: false,
    email_confirmed: false,
    is_support: false,
    status_online: false,
  };
}
