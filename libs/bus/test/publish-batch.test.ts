/**
 * publishEvents on the real NATS/JetStream: a batch with asynchronous PubAcks stores every event once,
 * in the order given, with the event id as the msg id (a repeated batch is all duplicates), and a batch
 * for which no stream exists fails per event instead of hanging or claiming success. The mailer's stream
 * gets one copy of each event the mailer needs and none of the others, chained like the event stream.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connectBus, decode, ensureEventStream, type NatsConnection, publishEvents } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { type DomainEvent, type MessageSeenEvent, type Subjects, subjects } from '@parley/protocol';
import {
  createdEvent,
  seenEvent as fixtureSeen,
  message,
  natsUrl,
  randomPrefix,
  recipient,
  waitFor,
} from '@parley/testing';
import { AckPolicy } from 'nats';

let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'publish-batch-test', logger: silentLogger() });
});

afterAll(async () => {
  await nc.close();
});

function seenEvent(n: number): MessageSeenEvent {
  return { ...fixtureSeen(message(n, n, 1), 2), dialog_id: n };
}

describe('publishEvents', () => {
  test('a batch is stored once and in order; the same batch again is all duplicates', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const jsm = await nc.jetstreamManager();
    try {
      const events = Array.from({ length: 50 }, (_, i) => seenEvent(i + 1));
      const first = await publishEvents(nc, s, events);
      expect(first.map((r) => r.status)).toEqual(events.map(() => 'fulfilled'));
      const seqs = first.map((r) => (r.status === 'fulfilled' ? r.value.seq : -1));
      expect(seqs).toEqual(events.map((_, i) => i + 1));
      expect(first.some((r) => r.status === 'fulfilled' && r.value.duplicate)).toBe(false);
      for (const [i, e] of events.entries()) {
        const stored = await jsm.streams.getMessage(s.eventStream, { seq: i + 1 });
        expect(decode<DomainEvent>(stored.data).id).toBe(e.id);
      }

      const again = await publishEvents(nc, s, events);
      expect(again.every((r) => r.status === 'fulfilled' && r.value.duplicate)).toBe(true);
      expect((await jsm.streams.info(s.eventStream)).state.messages).toBe(50);
    } finally {
      await jsm.streams.delete(s.eventStream).catch(() => undefined);
    }
  });

  test('without a stream every event of the batch fails (no responders), none is reported stored', async () => {
    const s = subjects(randomPrefix());
    const results = await publishEvents(nc, s, [seenEvent(1), seenEvent(2), seenEvent(3)], {
      timeoutMs: 20_000,
    });
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) {
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/503/);
    }
  });
  test('an event the stream refuses takes the rest of the batch with it; retried, the stream holds every event in order', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const jsm = await nc.jetstreamManager();
    try {
      const limit = async (maxMsgSize: number) => {
        const { config } = await jsm.streams.info(s.eventStream);
        await jsm.streams.update(s.eventStream, { ...config, max_msg_size: maxMsgSize });
      };
      // the 2nd event is over the stream's size limit; the ones after it are small
      const events = Array.from({ length: 5 }, (_, i) => seenEvent(i + 1));
      const big = { ...fixtureSeen(message(2, 2, 1, 'x'.repeat(8_000)), 2), dialog_id: 2 };
      events[1] = big;
      await limit(4_096);
      const first = await publishEvents(nc, s, events);
      expect(first.map((r) => r.status)).toEqual([
        'fulfilled',
        'rejected',
        'rejected',
        'rejected',
        'rejected',
      ]);
      expect((await jsm.streams.info(s.eventStream)).state.messages).toBe(1);

      // the limit lifted, the relay's retry of the whole batch: the stored one is a duplicate, the rest follow it
      await limit(-1);
      const again = await publishEvents(nc, s, events);
      expect(again.map((r) => r.status === 'fulfilled' && r.value.duplicate)).toEqual([
        true,
        false,
        false,
        false,
        false,
      ]);
      const stored: string[] = [];
      for (let seq = 1; seq <= 5; seq++) {
        stored.push(decode<DomainEvent>((await jsm.streams.getMessage(s.eventStream, { seq })).data).id);
      }
      expect(stored).toEqual(events.map((e) => e.id));
    } finally {
      await jsm.streams.delete(s.eventStream).catch(() => undefined);
    }
  });

  test("the mailer's stream gets one copy of each event it needs, none of the others; a retried batch adds none", async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const jsm = await nc.jetstreamManager();
    try {
      const nobody = [
        recipient(1), // the author
        recipient(2, { email_notifications: false }),
        recipient(3, { is_active: false }),
        recipient(4, { email: '  ' }),
      ];
      const events: DomainEvent[] = [
        createdEvent(message(1, 1, 1), { recipients: nobody }),
        createdEvent(message(2, 1, 1), { recipients: [...nobody, recipient(5)] }),
        { ...fixtureSeen(message(1, 1, 1), 2), seen_ids: [] },
        fixtureSeen(message(2, 1, 1), 5),
        createdEvent(message(3, 1, 1), { recipients: [] }),
        createdEvent(message(4, 2, 1), { recipients: [recipient(6)] }),
      ];
      const needed = [events[1], events[3], events[5]].map((e) => (e as DomainEvent).id);
      const first = await publishEvents(nc, s, events);
      expect(first.map((r) => r.status)).toEqual(events.map(() => 'fulfilled'));
      expect(await mailCopies(s)).toEqual(needed);

      const again = await publishEvents(nc, s, events);
      expect(again.every((r) => r.status === 'fulfilled' && r.value.duplicate)).toBe(true);
      expect(await mailCopies(s)).toEqual(needed);

      // acknowledged copies leave the work queue; a retry within the dedupe window stores none again
      await jsm.consumers.add(s.mailStream, { durable_name: 'm', ack_policy: AckPolicy.Explicit });
      const consumer = await nc.jetstream().consumers.get(s.mailStream, 'm');
      for (let i = 0; i < needed.length; i++) (await consumer.next({ expires: 5_000 }))?.ack();
      await waitForEmpty(s);
      await publishEvents(nc, s, events);
      expect((await jsm.streams.info(s.mailStream)).state).toMatchObject({ messages: 0, last_seq: 3 });
    } finally {
      for (const name of [s.eventStream, s.notifyStream, s.mailStream])
        await jsm.streams.delete(name).catch(() => undefined);
    }
  });

  test('a mail copy the stream refuses takes the later copies with it; retried, they are stored once and in order', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const jsm = await nc.jetstreamManager();
    try {
      const limit = async (maxMsgSize: number) => {
        const { config } = await jsm.streams.info(s.mailStream);
        await jsm.streams.update(s.mailStream, { ...config, max_msg_size: maxMsgSize });
      };
      const events = Array.from({ length: 4 }, (_, i) =>
        createdEvent(message(i + 1, 1, 1, i === 1 ? 'x'.repeat(8_000) : undefined), {
          recipients: [recipient(2)],
        }),
      );
      await limit(4_096);
      const first = await publishEvents(nc, s, events);
      expect(first.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
      expect(await mailCopies(s)).toEqual([events[0]?.id]);

      await limit(-1);
      const again = await publishEvents(nc, s, events);
      expect(again.map((r) => r.status)).toEqual(events.map(() => 'fulfilled'));
      expect(await mailCopies(s)).toEqual(events.map((e) => e.id));
    } finally {
      for (const name of [s.eventStream, s.notifyStream, s.mailStream])
        await jsm.streams.delete(name).catch(() => undefined);
    }
  });
});

/** the ids of the events in the mailer's stream, in stream order (each copy's msg id checked) */
async function mailCopies(s: Subjects): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(s.mailStream);
  const ids: string[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(s.mailStream, { seq });
    const id = decode<DomainEvent>(m.data).id;
    expect(m.header.get('Nats-Msg-Id')).toBe(`${id}:mail`);
    ids.push(id);
  }
  return ids;
}

async function waitForEmpty(s: Subjects): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await waitFor(async () => (await jsm.streams.info(s.mailStream)).state.messages === 0, {
    what: 'the acknowledged copies to leave the mail stream',
  });
}
