/** From domain data to the e-mail: items, headers (PROTOCOL.md §6); the recipients are `mailRecipients`. */
import { type MessageDto, signUnsubscribeToken, unsubscribePath } from '@parley/protocol';
import type { MailerConfig } from './config.js';
import type { MailRecipient } from './records.js';
import { type MailItem, render } from './templates/index.js';
import type { OutgoingMail } from './transport.js';

export function toMailItem(m: MessageDto): MailItem {
  return {
    message_id: m.id,
    dialog_id: m.dialog,
    author: { first_name: m.user.first_name, last_name: m.user.last_name, email: m.user.email },
    body: m.body,
    text: m.markdown_body,
    file: m.file ? { name: m.file.file_name, url: m.file.url } : null,
    date_created: m.date_created,
  };
}

/** The host part of Message-IDs: MAIL_FROM's domain, else APP_URL's host. */
export function messageIdDomain(config: MailerConfig): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(config.MAIL_FROM);
  return m?.[1] ?? new URL(config.APP_URL).hostname;
}

/**
 * The recipient's one-click link on the gateway (RFC 8058, signed with JWT_SECRET), or the
 * MAIL_UNSUBSCRIBE_URL override with `{user_id}` replaced.
 */
export function unsubscribeUrl(config: MailerConfig, userId: number): string {
  if (config.MAIL_UNSUBSCRIBE_URL) {
    return config.MAIL_UNSUBSCRIBE_URL.replace(/\{user_id\}|%7Buser_id%7D/gi, String(userId));
  }
  return `${config.PUBLIC_URL}${unsubscribePath(userId, signUnsubscribeToken(config.JWT_SECRET, userId))}`;
}

/** Stable per (leading message, recipient): a resend would carry the same Message-ID. */
export function messageId(config: MailerConfig, leader: number, userId: number): string {
  return `<parley.m${leader}.u${userId}@${messageIdDomain(config)}>`;
}

export function composeMail(
  config: MailerConfig,
  leader: number,
  items: MailItem[],
  to: MailRecipient,
): OutgoingMail {
  const unsubscribe = unsubscribeUrl(config, to.user_id);
  const rendered = render('new-message', {
    locale: config.MESSAGES_LOCALE,
    timeZone: config.TIME_ZONE,
    items,
    answerUrl: (dialog) => `${config.APP_URL}/dialogs/${dialog}`,
    unsubscribeUrl: unsubscribe,
  });
  return {
    from: config.MAIL_FROM,
    to: { name: `${to.first_name} ${to.last_name}`.trim(), address: to.email },
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    messageId: messageId(config, leader, to.user_id),
    headers: {
      'List-Unsubscribe': `<${unsubscribe}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'Auto-Submitted': 'auto-generated',
    },
  };
}
