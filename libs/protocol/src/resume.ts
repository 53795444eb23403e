/**
 * Lossless delivery and resume (PROTOCOL.md §8): the `sync` frame a client sends after a reconnect and
 * the answer it gets. A file of its own (and an export subpath) so the browser client can import it
 * without pulling zod into its bundle.
 */

/** `{"event": "sync", "since": <seq>}`: replay the user's pushes after `since`, then answer */
export const RESUME_SYNC_EVENT = 'sync' as const;

/** `data` of the answer to `sync` */
export interface ResumeSyncAnswer {
  /** the latest `seq` of the user's feed */
  seq: number;
  /** pushes replayed before this answer */
  replayed: number;
  /** `since` is older than what is retained, or unknown: reload with `dialogs.load` */
  resync_required?: boolean;
}

/** The push events that carry `seq` (§8); direct answers and `users.status.online` carry none. */
export const SEQUENCED_PUSH_EVENTS = [
  'dialogs.messages.create',
  'dialogs.messages.seen',
  'notifications.dialogs.count',
  'notifications.dialogs.messages.count',
  'notifications.dialogs.awaiting.count',
] as const;
