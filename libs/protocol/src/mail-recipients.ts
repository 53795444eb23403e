/**
 * Who gets an e-mail for a new message (PROTOCOL.md §6), in one place: the mailer picks its recipients
 * with it, and dialogs' outbox relay uses it to copy to the mailer's stream only the events that can
 * lead to an e-mail (decisions §28). The two must agree, or an e-mail is lost (the relay decides no)
 * or a copy is wasted (the mailer decides no).
 */
import type { DomainEvent, MessageCreatedEvent, Recipient } from './domain-events.js';

/** A recipient as an e-mail needs it (the address trimmed). */
export interface MailRecipient {
  user_id: number;
  email: string;
  first_name: string;
  last_name: string;
}

/** a member other than the author who is active, has an address and wants e-mail */
function isMailable(r: Recipient, authorId: number): boolean {
  return r.user_id !== authorId && r.is_active && r.email_notifications && !!r.email?.trim();
}

/** The members to mail for a new message: each eligible member once, in the event's order. */
export function mailRecipients(e: MessageCreatedEvent): MailRecipient[] {
  const authorId = e.message.user.id;
  const seen = new Set<number>();
  const out: MailRecipient[] = [];
  for (const r of e.recipients) {
    if (!isMailable(r, authorId) || seen.has(r.user_id)) continue;
    seen.add(r.user_id);
    out.push({ user_id: r.user_id, email: r.email.trim(), first_name: r.first_name, last_name: r.last_name });
  }
  return out;
}

/**
 * Whether the mailer needs this event: a new message with at least one member to mail, or a read
 * that marked messages (under MAIL_DELAY_SECONDS it cancels their held e-mails; the relay does not
 * know the mailer's delay, so every read that marked something is copied).
 */
export function mailerNeeds(e: DomainEvent): boolean {
  if (e.type === 'message.seen') return e.seen_ids.length > 0;
  const authorId = e.message.user.id;
  return e.recipients.some((r) => isMailable(r, authorId));
}
