/**
 * MAIL_DELAY_SECONDS batches on a real JetStream KV: a message that joined a batch and crashed before
 * writing its own record (the batch lists it; its record is missing) comes back after its dialog's
 * batches moved on several times, and still goes only into the e-mail that carried it.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type JsonKv, type NatsConnection, openJsonKv } from '@parley/bus';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix } from '@parley/testing';
import { createBatches } from '../src/batches.js';
import { createRecordStore, type Rec } from '../src/record-store.js';
import type { MailValue } from '../src/records.js';
import type { MailItem } from '../src/templates/index.js';
import { logger } from './helpers.js';

let nc: NatsConnection;
const s = subjects(randomPrefix());

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'mailer-batches-test', logger });
});

afterAll(async () => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(`KV_${s.mailBucket}`).catch(() => undefined);
  await nc.close();
});

const DIALOG = 7;
const to = { user_id: 2, email: 'b@example.com', first_name: 'B', last_name: 'C' };
const item = (id: number): MailItem => ({
  message_id: id,
  dialog_id: DIALOG,
  author: { first_name: 'A', last_name: 'B', email: 'a@example.com' },
  body: `<p>message ${id}</p>`,
  text: `message ${id}`,
  file: null,
  date_created: new Date().toISOString(),
});

test('a join cut off before its own record is found in the batch that carried it, five batches later', async () => {
  const real = await openJsonKv<MailValue>(nc, s.mailBucket);
  // message 2's own record cannot be written: the process dies right after it joined the batch
  const crashing: JsonKv<MailValue> = {
    ...real,
    get: (k) => real.get(k),
    update: (k, v, r) => real.update(k, v, r),
    put: (k, v) => real.put(k, v),
    delete: (k, r) => real.delete(k, r),
    create: async (k, v) => {
      if (k === 'd.2.2') throw new Error('killed');
      return real.create(k, v);
    },
  };
  const batches = createBatches(real, createRecordStore(real));
  const dying = createBatches(crashing, createRecordStore(crashing));
  const due = Date.now();

  const lead1 = (await batches.joinOrLead(item(1), to, due)) as Rec;
  expect(lead1.value.state).toBe('leading');
  await expect(dying.joinOrLead(item(2), to, due)).rejects.toThrow('killed');
  const closed1 = await batches.close(1, DIALOG, to, lead1);
  expect(closed1?.value).toMatchObject({ state: 'claimed', batch: true });
  expect((closed1?.value as { items?: MailItem[] } | undefined)?.items?.map((i) => i.message_id)).toEqual([
    1, 2,
  ]);

  // the dialog's batches move on: messages 3, 4, 5, 6, 7 each lead one and close it
  for (const id of [3, 4, 5, 6, 7]) {
    const lead = (await batches.joinOrLead(item(id), to, due)) as Rec;
    expect(lead.value.state).toBe('leading');
    await batches.close(id, DIALOG, to, lead);
  }
  const lead8 = (await batches.joinOrLead(item(8), to, due)) as Rec;
  expect(lead8.value.state).toBe('leading');

  // message 2's event comes back: it went into message 1's e-mail, and joins no other
  const again = await batches.joinOrLead(item(2), to, due);
  expect(again?.value).toMatchObject({ state: 'batched', into: 1 });
  const open = await real.get(`b.${DIALOG}.2`);
  expect((open?.value as { items?: MailItem[] } | undefined)?.items?.map((i) => i.message_id)).toEqual([8]);
});
