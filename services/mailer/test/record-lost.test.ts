/**
 * The delivery state machine on a real JetStream KV, with the one write that follows the SMTP
 * server's acceptance failing (NATS away longer than its retries): the event fails and comes back,
 * and then the record is written — the e-mail is not sent a second time.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type JsonKv, type NatsConnection, openJsonKv } from '@parley/bus';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix } from '@parley/testing';
import { createDeliveries } from '../src/deliveries.js';
import { createQuota } from '../src/quota.js';
import type { MailValue } from '../src/records.js';
import { logger } from './helpers.js';

let nc: NatsConnection;
const s = subjects(randomPrefix());

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'mailer-record-lost-test', logger });
});

afterAll(async () => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(`KV_${s.mailBucket}`).catch(() => undefined);
  await nc.close();
});

test('an accepted e-mail whose `sent` record could not be written is recorded on redelivery, not sent again', async () => {
  const real = await openJsonKv<MailValue>(nc, s.mailBucket);
  // every write of a `sent` record fails while `away` (what a NATS node dying mid-write looks like)
  let away = true;
  const kv: JsonKv<MailValue> = {
    ...real,
    get: (k) => real.get(k),
    create: (k, v) => real.create(k, v),
    put: (k, v) => real.put(k, v),
    delete: (k, r) => real.delete(k, r),
    update: async (k, v, rev) => {
      if (away && (v as { state?: string }).state === 'sent') throw new Error('TIMEOUT');
      return real.update(k, v, rev);
    },
  };
  const sends: number[] = [];
  const results: string[] = [];
  const deliveries = createDeliveries({
    kv,
    delayMs: 0,
    logger,
    instance: 'mailer-a',
    leaseMs: 30_000,
    inFlight: 2,
    quota: createQuota({ kv, cap: 0, windowMs: 3_600_000 }),
    send: async (leader) => {
      sends.push(leader);
    },
    onResult: (r) => results.push(r),
    recordAttempts: 2,
  });
  const item = {
    message_id: 41,
    dialog_id: 7,
    author: { first_name: 'A', last_name: 'B', email: 'a@example.com' },
    body: '<p>hi</p>',
    text: 'hi',
    file: null,
    date_created: new Date().toISOString(),
  };
  const to = { user_id: 2, email: 'b@example.com', first_name: 'B', last_name: 'C' };

  await expect(deliveries.deliver(item, to, Date.now())).rejects.toThrow();
  expect(sends).toEqual([41]);

  // the event comes back once NATS answers again
  away = false;
  await expect(deliveries.deliver(item, to, Date.now())).resolves.toEqual({ kind: 'done' });
  expect(sends).toEqual([41]);
  expect(results).toEqual(['sent']);
  const rec = await real.get(`d.41.2`);
  expect((rec?.value as { state?: string } | undefined)?.state).toBe('sent');
});
