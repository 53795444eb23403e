/**
 * The daily reminder (PROTOCOL.md §9): every REMIND_CHECK_SECONDS the mailer asks `dialogs` which
 * staff users have dialogs awaiting their reply for longer than REMIND_AFTER_HOURS, and mails each
 * one who wants e-mail (active, `email_notifications`, an address) at most once per day of
 * TIME_ZONE. Durable through restarts and across instances: a record per (user, day) in the mail
 * bucket is created (`create`: one instance wins) as a `sending` lease before the SMTP transaction
 * and becomes `sent` after the server accepted it; a lease a crashed sender left runs out and the
 * next check sends it (same Message-ID), so a restart neither skips nor repeats a day — beyond the
 * one SMTP transaction a crash interrupts, as for §6.
 */
import type { JsonKv, RpcClient } from '@parley/bus';
import type { Logger } from '@parley/logger';
import type { ReminderDue } from '@parley/protocol';
import { messageIdDomain, unsubscribeUrl } from './compose.js';
import type { MailerConfig } from './config.js';
import { render } from './templates/index.js';
import type { OutgoingMail } from './transport.js';

export interface ReminderRecord {
  reminder: 'sending' | 'sent';
  /** `sending`: the lease runs out at this time (ms) */
  until: number;
  owner: string;
  at: number;
}

export interface ReminderDeps {
  config: MailerConfig;
  kv: JsonKv<ReminderRecord>;
  rpc: RpcClient;
  instance: string;
  logger: Logger;
  send(mail: OutgoingMail): Promise<void>;
  onResult(result: 'sent' | 'failed'): void;
  onCheck(): void;
  /** how long a `sending` lease lasts (ms) */
  leaseMs?: number;
  now?: () => number;
}

export const reminderKey = (userId: number, day: string) => `remind.${userId}.${day}`;

/** The calendar day of `ms` in `timeZone`, `YYYY-MM-DD`. */
export function dayIn(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(ms));
}

export function composeReminder(config: MailerConfig, due: ReminderDue, day: string): OutgoingMail {
  const unsubscribe = unsubscribeUrl(config, due.user_id);
  const rendered = render('awaiting-reminder', {
    locale: config.MESSAGES_LOCALE,
    timeZone: config.TIME_ZONE,
    dialogs: due.dialogs,
    total: due.total,
    answerUrl: (dialog) => `${config.APP_URL}/dialogs/${dialog}`,
    unsubscribeUrl: unsubscribe,
  });
  return {
    from: config.MAIL_FROM,
    to: { name: `${due.first_name} ${due.last_name}`.trim(), address: due.email.trim() },
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    messageId: `<parley.remind.u${due.user_id}.d${day}@${messageIdDomain(config)}>`,
    headers: {
      'List-Unsubscribe': `<${unsubscribe}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'Auto-Submitted': 'auto-generated',
    },
  };
}

export function createReminders(deps: ReminderDeps) {
  const { config, kv } = deps;
  const now = deps.now ?? Date.now;
  const leaseMs = deps.leaseMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  /** take the (user, day) record for sending: the revision to finish it with, or null (sent, or someone else's) */
  async function claim(key: string): Promise<number | null> {
    const lease = (): ReminderRecord => ({
      reminder: 'sending',
      until: now() + leaseMs,
      owner: deps.instance,
      at: now(),
    });
    const cur = await kv.get(key);
    if (!cur) return kv.create(key, lease());
    if (cur.value.reminder === 'sent' || cur.value.until > now()) return null;
    return kv.update(key, lease(), cur.revision); // a crashed sender's lease ran out
  }

  async function remind(due: ReminderDue, day: string): Promise<void> {
    if (!due.is_active || !due.email_notifications || !due.email.trim() || !due.dialogs.length) return;
    const key = reminderKey(due.user_id, day);
    const revision = await claim(key);
    if (revision === null) return;
    try {
      await deps.send(composeReminder(config, due, day));
    } catch (err) {
      deps.onResult('failed');
      deps.logger.warn({ err, user_id: due.user_id }, 'reminder e-mail failed; retried at the next check');
      // let the next check (of any instance) retry now rather than after the lease
      await kv.update(key, { reminder: 'sending', until: 0, owner: deps.instance, at: now() }, revision);
      return;
    }
    const done: ReminderRecord = { reminder: 'sent', until: 0, owner: deps.instance, at: now() };
    if ((await kv.update(key, done, revision)) === null) await kv.put(key, done);
    deps.onResult('sent');
  }

  async function check(): Promise<void> {
    if (config.REMIND_AFTER_HOURS <= 0) return;
    const t = now();
    const day = dayIn(t, config.TIME_ZONE);
    const { data } = await deps.rpc.request('reminders.due', {
      before: t - config.REMIND_AFTER_HOURS * 3_600_000,
      limit: 50,
    });
    for (const due of data) {
      try {
        await remind(due, day);
      } catch (err) {
        deps.logger.warn({ err, user_id: due.user_id }, 'reminder check failed for a user');
      }
    }
    deps.onCheck();
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = check()
        .catch((err) => deps.logger.warn({ err }, 'reminder check failed; retried at the next one'))
        .finally(() => schedule(config.REMIND_CHECK_SECONDS * 1000));
    }, ms);
    timer.unref();
  }

  return {
    check,
    start(): void {
      if (config.REMIND_AFTER_HOURS <= 0) return;
      stopped = false;
      schedule(0);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
