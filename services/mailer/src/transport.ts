/**
 * Where e-mails go: the SMTP server of SMTP_URL over a pool of kept-open
 * connections (SMTP_MAX_CONNECTIONS; a fresh connection per e-mail costs a
 * TCP + greeting + EHLO + AUTH round trip set, ~100 ms even on loopback), or,
 * without one, `.eml` files in MAIL_OUTBOX_DIR (named by Message-ID, written
 * atomically, so writing the same e-mail twice leaves one file).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  from: string;
  to: { name: string; address: string };
  subject: string;
  html: string;
  text: string;
  messageId: string;
  headers: Record<string, string>;
}

export interface MailTransport {
  /** resolves once the server accepted the e-mail (or the file is written); rejects otherwise */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
  readonly kind: 'smtp' | 'files';
}

export function createMailTransport(opts: {
  smtpUrl: string | null;
  outboxDir: string;
  maxConnections?: number;
}): MailTransport {
  if (opts.smtpUrl) {
    const t = nodemailer.createTransport({
      url: opts.smtpUrl,
      pool: true,
      maxConnections: opts.maxConnections ?? 1,
      // reconnect now and then, so one connection does not live forever
      maxMessages: 1_000,
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      socketTimeout: 20_000,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    return {
      kind: 'smtp',
      async send(mail) {
        const info = await t.sendMail(mail);
        if (info.rejected.length) throw new Error('recipient rejected');
      },
      close: () => t.close(),
    };
  }
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let ready: Promise<unknown> | undefined;
  return {
    kind: 'files',
    async send(mail) {
      ready ??= mkdir(opts.outboxDir, { recursive: true });
      await ready;
      const info = await t.sendMail(mail);
      const name = mail.messageId.replace(/[^A-Za-z0-9._-]/g, '_');
      const file = join(opts.outboxDir, `${name}.eml`);
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, info.message as Buffer);
      await rename(tmp, file);
    },
    close: () => t.close(),
  };
}
