/** JetStream on the real NATS: dedupe by event id, durable consumers shared by instances, redelivery, dead letters. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  type ConsumerOptions,
  connectBus,
  consumeEvents,
  decode,
  type EventConsumer,
  ensureEventStream,
  type NatsConnection,
  publishEvent,
} from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { type DomainEvent, type MessageSeenEvent, subjects } from '@parley/protocol';
import { seenEvent as fixtureSeen, message, natsUrl, randomPrefix, sleep, waitFor } from '@parley/testing';

const logger = silentLogger();
const conns: NatsConnection[] = [];
const consumers: EventConsumer[] = [];

async function conn(): Promise<NatsConnection> {
  const nc = await connectBus({ servers: [await natsUrl()], name: 'stream-test', logger });
  conns.push(nc);
  return nc;
}

/** a valid `message.seen` event whose dialog id tells the tests' events apart */
function seenEvent(n: number): MessageSeenEvent {
  return { ...fixtureSeen(message(n, n, 1), 2), dialog_id: n };
}

/** a consumer of `message.seen` on its own connection, stopped after the suite */
async function seenConsumer(
  s: ReturnType<typeof subjects>,
  service: 'notifier' | 'mailer',
  handle: ConsumerOptions['handle'],
  extra: Partial<ConsumerOptions> = {},
): Promise<void> {
  const c = await consumeEvents({
    nc: await conn(),
    subjects: s,
    service,
    logger,
    types: ['message.seen'],
    handle,
    ...extra,
  });
  consumers.push(c);
}

let nc: NatsConnection;
beforeAll(async () => {
  nc = await conn();
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop().catch(() => undefined)));
  for (const c of conns) await c.close().catch(() => undefined);
});

async function dropStream(s: ReturnType<typeof subjects>) {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(s.eventStream).catch(() => undefined);
}

describe('event stream', () => {
  test('publishing the same event id twice stores it once', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const e = seenEvent(1);
    const a = await publishEvent(nc, s, e);
    const b = await publishEvent(nc, s, e);
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(s.eventStream)).state.messages).toBe(1);
    await dropStream(s);
  });

  test('two instances of one durable share the events: each handled once', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const handled: number[] = [];
    for (let i = 0; i < 2; i++) {
      await seenConsumer(s, 'notifier', async (e) => {
        handled.push((e as MessageSeenEvent).dialog_id);
      });
    }
    for (let i = 0; i < 40; i++) await publishEvent(nc, s, seenEvent(i));
    await waitFor(() => handled.length >= 40, { what: '40 events' });
    // every event acknowledged: nothing can be redelivered to the other instance any more
    const jsm = await nc.jetstreamManager();
    await waitFor(
      async () => {
        const info = await jsm.consumers.info(s.eventStream, s.durable('notifier'));
        return info.num_ack_pending === 0 && info.num_pending === 0;
      },
      { what: 'every event acknowledged' },
    );
    expect([...handled].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    await dropStream(s);
  });

  test('an event held by a consumer that dies is redelivered to another instance', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const doomed = await conn();
    let startedOnDoomed = false;
    await consumeEvents({
      nc: doomed,
      subjects: s,
      service: 'mailer',
      logger,
      types: ['message.seen'],
      ackWaitMs: 1_000,
      handle: async () => {
        startedOnDoomed = true;
        await new Promise(() => undefined); // hangs: the process "dies" before acking
      },
    });
    await publishEvent(nc, s, seenEvent(5));
    await waitFor(() => startedOnDoomed, { what: 'first delivery' });
    await doomed.close();

    const got: { id: number; delivery: number }[] = [];
    await seenConsumer(
      s,
      'mailer',
      async (e, meta) => {
        got.push({ id: (e as MessageSeenEvent).dialog_id, delivery: meta.deliveryCount });
      },
      { ackWaitMs: 1_000 },
    );
    await waitFor(() => got.length === 1, { timeoutMs: 10_000, what: 'redelivery' });
    expect(got[0]).toEqual({ id: 5, delivery: 2 });
    await dropStream(s);
  });

  test('a malformed event is dead-lettered without reaching the handler; an unknown type is skipped', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const dead: { reason: string | undefined; body: unknown }[] = [];
    const sub = nc.subscribe(s.deadLetter('mailer'));
    void (async () => {
      for await (const m of sub)
        dead.push({ reason: m.headers?.get('Parley-Dead-Reason'), body: decode(m.data) });
    })();
    const handled: number[] = [];
    await seenConsumer(s, 'mailer', async (e) => {
      handled.push((e as MessageSeenEvent).dialog_id);
    });
    const js = nc.jetstream();
    const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    await js.publish(s.event('message.seen'), bytes({ ...seenEvent(1), seen_ids: 'all' }), {
      msgID: 'bad-1',
    });
    await js.publish(
      `${s.eventWildcard.slice(0, -1)}dialog.archived`,
      bytes({ id: 'x', type: 'dialog.archived' }),
    );
    await publishEvent(nc, s, seenEvent(2));
    await waitFor(() => handled.length === 1 && dead.length === 1, {
      what: 'one handled, one dead',
    }).catch((e) => {
      throw new Error(`${e.message} handled=${JSON.stringify(handled)} dead=${JSON.stringify(dead)}`);
    });
    expect(handled).toEqual([2]);
    expect(dead[0]?.reason).toBe('invalid');
    const info = await (await nc.jetstreamManager()).consumers.info(s.eventStream, s.durable('mailer'));
    expect(info.num_ack_pending + info.num_pending).toBe(0);
    await sleep(200); // nothing more arrives: the malformed event is dead-lettered once
    expect(dead).toHaveLength(1);
    sub.unsubscribe();
    await dropStream(s);
  });

  test('a failing handler is retried with backoff; a poison event goes to the dead-letter subject', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const dead: DomainEvent[] = [];
    const sub = nc.subscribe(s.deadLetter('notifier'));
    void (async () => {
      for await (const m of sub) dead.push(decode<DomainEvent>(m.data));
    })();
    const attempts = new Map<number, number>();
    await seenConsumer(
      s,
      'notifier',
      async (e) => {
        const n = (e as MessageSeenEvent).dialog_id;
        attempts.set(n, (attempts.get(n) ?? 0) + 1);
        if (n === 1 && attempts.get(n) === 1) throw new Error('transient');
        if (n === 2) throw new Error('poison');
      },
      { maxDeliver: 3, backoffMs: [50] },
    );
    await publishEvent(nc, s, seenEvent(1));
    await publishEvent(nc, s, seenEvent(2));
    await waitFor(() => dead.length === 1 && attempts.get(1) === 2, {
      timeoutMs: 10_000,
      what: 'retry and DLQ',
    });
    expect((dead[0] as MessageSeenEvent).dialog_id).toBe(2);
    expect(attempts.get(2)).toBe(3);
    sub.unsubscribe();
    await dropStream(s);
  });

  test('a handler that throws synchronously is retried like a rejected one; later events still flow', async () => {
    const s = subjects(randomPrefix());
    await ensureEventStream(nc, s);
    const attempts = new Map<number, number>();
    const handled: number[] = [];
    // not async: the throw happens before any promise exists
    const handle: ConsumerOptions['handle'] = (e) => {
      const n = (e as MessageSeenEvent).dialog_id;
      attempts.set(n, (attempts.get(n) ?? 0) + 1);
      if (n === 1 && attempts.get(n)! < 3) throw new Error('sync failure');
      handled.push(n);
      return Promise.resolve();
    };
    await seenConsumer(s, 'mailer', handle, { maxDeliver: 5, backoffMs: [50] });
    await publishEvent(nc, s, seenEvent(1));
    await publishEvent(nc, s, seenEvent(2));
    await publishEvent(nc, s, seenEvent(3));
    await waitFor(() => handled.length === 3, { timeoutMs: 15_000, what: 'all three events handled' });
    expect(attempts.get(1)).toBe(3);
    expect(handled.sort()).toEqual([1, 2, 3]);
    await dropStream(s);
  });
});
