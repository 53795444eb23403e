/**
 * The records in the mail KV bucket (`subjects.mailBucket`); the mailer has no
 * database. One e-mail's delivery record is a discriminated union on `state`,
 * and every change of it goes through the one table below (`TRANSITIONS`), so
 * the state machine reads in one place. Keys:
 *
 * - `d.<message>.<recipient>` one e-mail's delivery record (states below);
 * - `b.<dialog>.<recipient>` the open batch of a dialog (MAIL_DELAY_SECONDS):
 *   the messages that go as one e-mail, led by its first message;
 * - `q.<recipient>` the recipient's hourly quota (quota.ts): the e-mails sent in
 *   the window and the digest of the surplus;
 * - `seen.<message>` the message was read (from MessageSeenEvent.seen_ids).
 */
import type { MailRecipient } from '@parley/protocol';
import type { MailItem } from './templates/index.js';

/** who an e-mail goes to: the protocol's choice of recipients (`mailRecipients`) */
export type { MailRecipient };

interface Stamp {
  /** ISO time of the last change */
  at: string;
}

/** Holds a batch of its dialog open until `due` (MAIL_DELAY_SECONDS). */
export interface LeadingRecord extends Stamp {
  state: 'leading';
  due: number;
  items: MailItem[];
}
/** Went into the e-mail of message `into` (a dialog batch or the recipient's digest): final. */
export interface BatchedRecord extends Stamp {
  state: 'batched';
  into: number;
}
/** The content is fixed (`batch`: the dialog batch may still need closing); not yet admitted by the quota. */
export interface ClaimedRecord extends Stamp {
  state: 'claimed';
  items: MailItem[];
  batch?: true;
}
/** Over the hourly cap: leads the recipient's digest until `due`, when a slot frees. */
export interface HeldRecord extends Stamp {
  state: 'held';
  due: number;
  items: MailItem[];
}
/**
 * Admitted; an SMTP transaction may be in flight. `owner` (a mailer process)
 * holds it until `until` and renews while it talks to the server; after a
 * crash the lease runs out and the e-mail is sent again, same Message-ID.
 */
export interface SendingRecord extends Stamp {
  state: 'sending';
  items: MailItem[];
  owner: string;
  until: number;
  attempts: number;
}
/** The server refused it: sent again when the event comes back (backoff). */
export interface FailedRecord extends Stamp {
  state: 'failed';
  items: MailItem[];
  attempts: number;
}
/** The server accepted it: final. */
export interface SentRecord extends Stamp {
  state: 'sent';
  attempts: number;
  /** how many messages the e-mail carried */
  count: number;
}
/** Every message of it was read within MAIL_DELAY_SECONDS: final, nothing sent. */
export interface SkippedRecord extends Stamp {
  state: 'skipped';
}

export type DeliveryRecord =
  | LeadingRecord
  | BatchedRecord
  | ClaimedRecord
  | HeldRecord
  | SendingRecord
  | FailedRecord
  | SentRecord
  | SkippedRecord;

export type DeliveryState = DeliveryRecord['state'];
export type RecordOf<S extends DeliveryState> = Extract<DeliveryRecord, { state: S }>;

/**
 * The one transition table: from each state, the states a record may move to.
 * `null` is "no record yet". A move not in this table is a bug and throws.
 */
export const TRANSITIONS = {
  null: ['leading', 'batched', 'claimed'],
  leading: ['claimed'],
  claimed: ['claimed', 'held', 'batched', 'sending', 'skipped'],
  held: ['claimed'],
  sending: ['sending', 'sent', 'failed'],
  failed: ['sending'],
  batched: [],
  sent: [],
  skipped: [],
} as const satisfies Record<DeliveryState | 'null', readonly DeliveryState[]>;

export function canMove(from: DeliveryState | null, to: DeliveryState): boolean {
  return (TRANSITIONS[from ?? 'null'] as readonly DeliveryState[]).includes(to);
}

/** States after which nothing is ever sent for the record again. */
export function isFinal(state: DeliveryState): boolean {
  return TRANSITIONS[state].length === 0;
}

export interface BatchRecord {
  state: 'open' | 'closed';
  leader: number;
  due: number;
  items: MailItem[];
  /**
   * the batches this one replaced, newest first (at most `BATCH_HISTORY` of them, none closed longer
   * than `BATCH_HISTORY_MS` ago): a message that joined one of them and crashed before writing its own
   * record finds its e-mail there when its event comes back, however many batches passed meanwhile
   */
  history?: BatchGeneration[];
  /** written by mailers before 0.2: the one batch this one replaced */
  previous?: { leader: number; ids: number[] };
}

/** A replaced batch: who led it and what it carried. */
export interface BatchGeneration {
  leader: number;
  ids: number[];
  /** when it was replaced (ms) */
  at: number;
}

/** replaced batches a batch record remembers (a crashed join is redelivered within the ack wait) */
export const BATCH_HISTORY = 64;
export const BATCH_HISTORY_MS = 10 * 60_000;

/** the replaced batches a batch record remembers, newest first (also those of an 0.1 record) */
export function historyOf(b: BatchRecord): BatchGeneration[] {
  return b.history ?? (b.previous ? [{ ...b.previous, at: 0 }] : []);
}

/** One e-mail counted against the recipient's cap: when it was admitted, and which messages it carried. */
export interface QuotaEntry {
  at: number;
  leader: number;
  /** the other messages folded into it (a digest) */
  folded?: number[];
}

/** The surplus over the cap: one e-mail led by `leader`, sent at `due` (when a slot frees). */
export interface Digest {
  leader: number;
  due: number;
  items: MailItem[];
}

export interface QuotaRecord {
  sent: QuotaEntry[];
  digest: Digest | null;
}

export type MailValue = DeliveryRecord | BatchRecord | QuotaRecord | { seen: true };

export const keys = {
  delivery: (messageId: number, userId: number) => `d.${messageId}.${userId}`,
  batch: (dialogId: number, userId: number) => `b.${dialogId}.${userId}`,
  quota: (userId: number) => `q.${userId}`,
  seen: (messageId: number) => `seen.${messageId}`,
};
