/**
 * The delivery records in the mail KV bucket (`subjects.mailBucket`); the
 * mailer has no database. Keys:
 *
 * - `d.<message>.<recipient>` one e-mail's delivery record:
 *   leading (holds a batch, waiting for MAIL_DELAY_SECONDS) → claimed (content
 *   fixed) → sending (SMTP in progress) → sent | failed (retried) | skipped
 *   (read within the delay); batched = went into the e-mail of another message.
 * - `b.<dialog>.<recipient>` the open batch of a dialog for a recipient: the
 *   messages that will go as one e-mail, led by its first message.
 * - `seen.<message>` the message was read (from MessageSeenEvent.seen_ids).
 */
import type { MailItem } from './templates/index.js';

export type DeliveryState = 'leading' | 'batched' | 'claimed' | 'sending' | 'sent' | 'failed' | 'skipped';

export interface MailRecipient {
  user_id: number;
  email: string;
  first_name: string;
  last_name: string;
}

export interface DeliveryRecord {
  state: DeliveryState;
  /** when the e-mail is due (leading) */
  due?: number;
  /** the e-mail's content once claimed */
  items?: MailItem[];
  /** this message leads a batch */
  batch?: boolean;
  /** batched: the message whose e-mail carries this one */
  into?: number;
  attempts?: number;
  at: string;
}

export interface BatchRecord {
  state: 'open' | 'closed';
  leader: number;
  due: number;
  items: MailItem[];
}

export type MailValue = DeliveryRecord | BatchRecord | { seen: true };

export const keys = {
  delivery: (messageId: number, userId: number) => `d.${messageId}.${userId}`,
  batch: (dialogId: number, userId: number) => `b.${dialogId}.${userId}`,
  seen: (messageId: number) => `seen.${messageId}`,
};

/** States after which nothing is sent for this record again. */
export const FINAL: readonly DeliveryState[] = ['batched', 'sending', 'sent', 'skipped'];
