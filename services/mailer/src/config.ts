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
  MAIL_UNSUBSCRIBE_URL: {
    doc: "override of the List-Unsubscribe target ({user_id} is replaced); unset: the gateway's signed one-click link under PUBLIC_URL/api/unsubscribe/",
    default: '-',
    parse: parsers.optional(parsers.url('http', 'https')),
  },
  EVENT_ACK_WAIT_SECONDS: {
    doc: 'an event a crashed mailer held is redelivered after this long',
    default: '60',
    parse: parsers.int(1, 3_600),
  },
  METRICS_PORT: {
    doc: 'port of the Prometheus /metrics endpoint; 0 = off',
    default: '0',
    parse: parsers.int(0, 65_535),
  },
};

export type MailerConfig = ConfigOf<typeof mailerConfigSpec>;
