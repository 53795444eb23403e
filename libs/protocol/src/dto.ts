/** The objects of PROTOCOL.md §3, exactly as they travel on the wire. */

export interface UserDto {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  github_url: string | null;
  avatar: string | null;
  thumbnail_avatar: string | null;
  email_notifications: boolean;
  email_confirmed: boolean;
  is_support: boolean;
  status_online: boolean;
}

export const FILE_KIND = { FILE: 1, IMAGE: 2 } as const;
export type FileKind = (typeof FILE_KIND)[keyof typeof FILE_KIND];

export interface FileDto {
  id: number;
  date_created: string;
  /** `/media/…` path, as in the seed */
  content: string;
  /** absolute, from PUBLIC_URL */
  url: string;
  file_name: string;
  size: number;
  content_type: string;
  type: FileKind;
}

export interface MessageDto {
  id: number;
  dialog: number;
  user: UserDto;
  body: string;
  markdown_body: string;
  file: FileDto | null;
  lesson: number | null;
  reply: Omit<MessageDto, 'reply'> | null;
  date_created: string;
  date_read: string | null;
}

/** The `last_message` of a dialog without messages (PROTOCOL.md §3). */
export interface PlaceholderMessageDto {
  id: null;
  dialog: null;
  user: {
    email: string;
    first_name: '';
    last_name: '';
    github_url: '';
    avatar: null;
    thumbnail_avatar: null;
    email_notifications: false;
    email_confirmed: false;
    is_support: false;
    status_online: false;
  };
  body: null;
  markdown_body: null;
  file: { content: null };
  lesson: null;
  reply: null;
  date_created: null;
  date_read: null;
}

export type DialogRole = 'support';

export interface DialogDto {
  id: number;
  last_message: MessageDto | PlaceholderMessageDto;
  /** the first member who is not the requester; `{}` when there is none */
  user: UserDto | Record<string, never>;
  users: UserDto[];
  unread_messages_count: number;
  with_role: DialogRole | null;
  date_created: string;
  /** PROTOCOL.md §9: since when the dialog awaits the viewer's reply (staff viewers only), else null */
  awaiting_reply_since: string | null;
}

export interface PageMeta {
  limit: number;
  offset: number;
  total: number;
}

export type UserRole = 'student' | 'reviewer' | 'support' | 'admin';
export const USER_ROLES: readonly UserRole[] = ['student', 'reviewer', 'support', 'admin'];

/** A user as the admin API and internal services see it (superset of UserDto). */
export interface UserRecordDto extends UserDto {
  role: UserRole;
  reviewer_id: number | null;
  is_active: boolean;
}

export function placeholderMessage(): PlaceholderMessageDto {
  return {
    id: null,
    dialog: null,
    user: {
      email: '',
      first_name: '',
      last_name: '',
      github_url: '',
      avatar: null,
      thumbnail_avatar: null,
      email_notifications: false,
      email_confirmed: false,
      is_support: false,
      status_online: false,
    },
    body: null,
    markdown_body: null,
    file: { content: null },
    lesson: null,
    reply: null,
    date_created: null,
    date_read: null,
  };
}

/** Response times of one reviewer or of the support team over a window (PROTOCOL.md §9). */
export interface ResponseTimesFigures {
  /** answered runs whose reply falls in the window */
  count: number;
  /** nearest-rank percentiles and maximum of the seconds from `awaiting_reply_since` to the reply; null without samples */
  p50_s: number | null;
  p90_s: number | null;
  max_s: number | null;
  /** dialogs awaiting a reply at the time of the request */
  awaiting_now: number;
}

/** GET /api/admin/stats/response-times */
export interface ResponseTimesStats {
  from: string;
  to: string;
  reviewers: (ResponseTimesFigures & { user_id: number })[];
  support_team: ResponseTimesFigures;
}

/** One staff user due for the daily reminder e-mail (PROTOCOL.md §9), as the mailer needs it. */
export interface ReminderDue {
  user_id: number;
  email: string;
  first_name: string;
  last_name: string;
  email_notifications: boolean;
  is_active: boolean;
  /** dialogs awaiting the user's reply since before the cut-off, oldest first (at most the limit) */
  dialogs: { dialog_id: number; awaiting_since: string; with: string }[];
  /** how many dialogs await since before the cut-off in all */
  total: number;
}
