/**
 * The daily reminder (PROTOCOL.md §9) on the real servers: `dialogs` (MariaDB) answers which staff
 * users are due, the mailer sends through the SMTP sink. A reviewer whose dialogs have awaited
 * longer than REMIND_AFTER_HOURS gets one e-mail listing them oldest first; reviewers who turned
 * e-mail off, are inactive, or whose runs are younger get none; checks every second and a restart
 * do not repeat it; a day a crashed sender left half-done is sent, a day already sent is not.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { caller, connectBus, type NatsConnection, openJsonKv } from '@parley/bus';
import { subjects } from '@parley/protocol';
import { natsUrl, type SmtpSink, startSmtpSink, waitFor } from '@parley/testing';
import { createDialog, createUser, type StartedDialogs, startDialogs } from '../../dialogs/test/harness.js';
import type { MailerService } from '../src/app.js';
import { dayIn, type ReminderRecord, reminderKey } from '../src/reminders.js';
import { renderAwaitingReminder } from '../src/templates/awaiting-reminder.js';
import { dropAll, logger, mailers } from './helpers.js';

let h: StartedDialogs;
let nc: NatsConnection;
let sink: SmtpSink;
let m: ReturnType<typeof mailers>;

beforeAll(async () => {
  h = await startDialogs();
  nc = await connectBus({ servers: [await natsUrl()], name: 'reminders-test', logger });
  sink = await startSmtpSink();
  m = mailers(h.prefix);
});

afterAll(async () => {
  await m?.stopAll();
  if (nc) await dropAll(nc, subjects(h.prefix));
  await h?.stop();
  await nc?.close();
  await sink?.stop();
});

const HOUR = 3_600_000;
/** DATETIME(6) of `ms` ago */
const ago = (ms: number) => `${new Date(Date.now() - ms).toISOString().slice(0, 23).replace('T', ' ')}000`;

async function waitingFor(student: number, reviewer: number, hoursAgo: number): Promise<number> {
  const d = await createDialog(h.rpc, [student, reviewer]);
  await h.rpc.request('dialogs.messages.create', {
    caller: caller(student),
    params: { dialog_id: d.id, body: 'help' },
  });
  // the run opened `hoursAgo` hours ago (the dates the write path stored, moved back)
  const since = ago(hoursAgo * HOUR);
  await h.service.dataSource!.query('UPDATE dialogs SET awaiting_since = ? WHERE id = ?', [since, d.id]);
  await h.service.dataSource!.query(
    'UPDATE dialog_members SET awaiting_since = ? WHERE dialog_id = ? AND awaiting_since IS NOT NULL',
    [since, d.id],
  );
  return d.id;
}

const checks = async (app: MailerService) => (await app.metrics.reminderChecks.get()).values[0]?.value ?? 0;
const reminders = () => sink.messages.filter((x) => String(x.parsed.messageId).includes('parley.remind.'));

test('one reminder per due reviewer per day: oldest first, honouring settings, through a restart and a crash', async () => {
  await createUser(h.rpc, 1, { first_name: 'Anna', last_name: 'Older' });
  await createUser(h.rpc, 2, { first_name: 'Boris', last_name: 'Newer' });
  await createUser(h.rpc, 3, { first_name: 'Vera', last_name: 'Fresh' });
  await createUser(h.rpc, 10, { role: 'reviewer', email: 'r10@example.com' });
  await createUser(h.rpc, 11, { role: 'reviewer', email: 'r11@example.com', email_notifications: false });
  await createUser(h.rpc, 12, { role: 'reviewer', email: 'r12@example.com', is_active: false });
  await createUser(h.rpc, 13, { role: 'reviewer', email: 'r13@example.com' });
  await createUser(h.rpc, 14, { role: 'reviewer', email: 'r14@example.com' });
  await createUser(h.rpc, 15, { role: 'reviewer', email: 'r15@example.com' });
  const newer = await waitingFor(2, 10, 30);
  const older = await waitingFor(1, 10, 50);
  await waitingFor(3, 10, 2); // too young to be listed
  await waitingFor(1, 11, 40);
  await waitingFor(1, 12, 40);
  await waitingFor(1, 13, 3); // nothing due
  await waitingFor(2, 14, 40);
  await waitingFor(2, 15, 40);
  // today's records as a crashed sender left them: 14 half-done (lease run out), 15 sent
  const kv = await openJsonKv<ReminderRecord>(nc, subjects(h.prefix).mailBucket);
  const day = dayIn(Date.now(), 'UTC');
  await kv.put(reminderKey(14, day), { reminder: 'sending', until: Date.now() - 1, owner: 'crashed', at: 0 });
  await kv.put(reminderKey(15, day), { reminder: 'sent', until: 0, owner: 'earlier', at: 0 });

  const env = { SMTP_URL: sink.url, REMIND_AFTER_HOURS: '24', REMIND_CHECK_SECONDS: '1', TIME_ZONE: 'UTC' };
  const first = await m.start(env);
  await waitFor(async () => (await checks(first)) >= 3, { timeoutMs: 30_000, what: 'three reminder checks' });
  expect(
    reminders()
      .map((x) => x.envelope.to)
      .sort(),
  ).toEqual([['r10@example.com'], ['r14@example.com']]);

  const mail = reminders().find((x) => x.envelope.to[0] === 'r10@example.com')!;
  expect(mail.parsed.subject).toBe('Ждут вашего ответа: 2 диалога');
  const text = String(mail.parsed.text);
  expect(text.indexOf('Anna Older')).toBeGreaterThan(-1);
  expect(text.indexOf('Anna Older')).toBeLessThan(text.indexOf('Boris Newer'));
  expect(text).not.toContain('Vera Fresh');
  expect(String(mail.parsed.html)).toContain(`/dialogs/${older}`);
  expect(String(mail.parsed.html)).toContain(`/dialogs/${newer}`);
  expect(mail.raw).toMatch(/^List-Unsubscribe:\s*<[^>]*\/api\/unsubscribe\/10\//m);
  expect((await kv.get(reminderKey(10, day)))?.value.reminder).toBe('sent');

  // a restart: the new instance's checks find today's records and send nothing again
  await m.stop(first);
  const second = await m.start(env);
  await waitFor(async () => (await checks(second)) >= 3, { timeoutMs: 30_000, what: 'three more checks' });
  expect(reminders()).toHaveLength(2);
  await m.stop(second);
}, 90_000);

test('REMIND_AFTER_HOURS=0 turns the reminder off; the English e-mail and its plural', async () => {
  const off = await m.start({ SMTP_URL: sink.url, REMIND_AFTER_HOURS: '0', REMIND_CHECK_SECONDS: '1' });
  expect(await checks(off)).toBe(0);
  await m.stop(off);
  const ctx = {
    locale: 'en' as const,
    timeZone: 'UTC',
    dialogs: [{ dialog_id: 7, awaiting_since: '2026-01-01T10:00:00.000000+00:00', with: 'Anna Older' }],
    answerUrl: (d: number) => `https://app.example.test/dialogs/${d}`,
    unsubscribeUrl: 'https://app.example.test/u',
  };
  const one = renderAwaitingReminder({ ...ctx, total: 1 });
  expect(one.subject).toBe('Awaiting your reply: 1 dialog');
  const many = renderAwaitingReminder({ ...ctx, total: 3 });
  expect(many.subject).toBe('Awaiting your reply: 3 dialogs');
  expect(many.text).toContain('and 2 more');
  expect(many.text).toContain('https://app.example.test/dialogs/7');
  expect(renderAwaitingReminder({ ...ctx, locale: 'ru', total: 5 }).subject).toBe(
    'Ждут вашего ответа: 5 диалогов',
  );
  expect(renderAwaitingReminder({ ...ctx, locale: 'ru', total: 21 }).subject).toBe(
    'Ждут вашего ответа: 21 диалог',
  );
});
