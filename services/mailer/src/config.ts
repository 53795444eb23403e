/** Every environment variable the mailer reads, declared once (parsed in main.ts). */
import {
  authVars,
  type ConfigOf,
  localeVars,
  logVars,
  natsVars,
  parsers,
  runtimeVars,
  urlVars,
} from '@parley/config';

export const mailerConfigSpec = {
  ...natsVars,
  ...logVars,
  ...localeVars,
  ...urlVars,
  NODE_ENV: runtimeVars.NODE_ENV,
  /** keys the one-click unsubscribe links (verified by the gateway) */
  JWT_SECRET: authVars.JWT_SECRET,
  SMTP_URL: {
    doc: 'mail server, smtp://user:pass@host:port or smtps://…; unset: write .eml files to MAIL_OUTBOX_DIR',
    default: '-',
    secret: true,
    parse: parsers.optional(parsers.url('smtp', 'smtps')),
  },
  MAIL_FROM: {
    doc: 'sender of notification e-mails',
    default: 'Parley <noreply@localhost>',
    parse: parsers.string,
  },
  MAIL_OUTBOX_DIR: {
    doc: 'where .eml files go when SMTP_URL is unset',
    default: './var/outbox',
    parse: parsers.string,
  },
  MAIL_DELAY_SECONDS: {
    doc: 'hold e-mails this long: a message read meanwhile is not mailed, messages of one dialog go as one e-mail',
    default: '0',
    parse: parsers.int(0, 86_400),
  },
  MAIL_MAX_PER_RECIPIENT_PER_HOUR: {
    doc: 'e-mails one recipient gets per hour at most (sliding window); the surplus is held and sent as one digest when the window allows; 0 = no cap',
    default: '20',
    parse: parsers.int(0, 10_000),
  },
  SMTP_MAX_CONNECTIONS: {
    doc: 'SMTP transactions at once over a pooled connection each; a crash may repeat (same Message-ID) at most this many e-mails',
    default: '1',
    parse: parsers.int(1, 50),
  },
  MAIL_UNSUBSCRIBE_URL: {
    doc: "override of the List-Unsubscribe target ({user_id} is replaced); unset: the gateway's signed one-click link under PUBLIC_URL/api/unsubscribe/",
    default: '-',
    parse: parsers.optional(parsers.url('http', 'https')),
  },
  EVENT_ACK_WAIT_SECONDS: {
    doc: 'an event a crashed mailer held is redelivered after this long (a live mailer renews it while it works)',
    default: '10',
    parse: parsers.int(1, 3_600),
  },
  REMIND_AFTER_HOURS: {
    doc: 'reviewers get one e-mail a day listing the dialogs that have awaited their reply longer than this (PROTOCOL.md §9); 0 = off',
    default: '24',
    parse: parsers.int(0, 8_760),
  },
  REMIND_CHECK_SECONDS: {
    doc: 'how often the mailer looks for reviewers due for the daily reminder',
    default: '300',
    parse: parsers.int(1, 86_400),
  },
  METRICS_PORT: {
    doc: 'port of the Prometheus /metrics endpoint; 0 = off',
    default: '0',
    parse: parsers.int(0, 65_535),
  },
};

export type MailerConfig = ConfigOf<typeof mailerConfigSpec>;
