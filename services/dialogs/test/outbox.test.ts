/**
 * The outbox: every state change writes its domain event in the same
 * transaction; the relay publishes each exactly once to the stream, across a
 * crash between publish and delete, several instances, and a NATS outage.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller, createRpcClient } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import type { MessageCreatedEvent, MessageSeenEvent } from '@parley/protocol';
import { startNatsServer, waitFor } from '@parley/testing';
import { createGroupCommit } from '../src/db/group-commit.js';
import { createDialogTurns } from '../src/dialog-turns.js';
import { createOutboxRelay } from '../src/outbox/relay.js';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { streamEvents } from './support.js';

const outboxRows = async (h: StartedDialogs) =>
  Number(((await h.service.dataSource!.query('SELECT COUNT(*) AS n FROM outbox')) as { n: number }[])[0]!.n);

describe('a relay that dies between the publish and the delete', () => {
  let h: StartedDialogs;
  beforeAll(async () => {
    h = await startDialogs({ config: { OUTBOX_RELAY: false } });
    await createUser(h.rpc, 1);
    await createUser(h.rpc, 2, { email_notifications: false });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('events wait in the outbox, then reach the stream exactly once', async () => {
    const d = await createDialog(h.rpc, [1, 2]);
    const ids: number[] = [];
    for (const body of ['one', 'two', 'three']) {
      ids.push(
        (
          await h.rpc.request('dialogs.messages.create', {
            caller: caller(1, 'conn-a'),
            params: { dialog_id: d.id, body },
          })
        ).data.id,
      );
    }
    await h.rpc.request('dialogs.messages.seen', {
      caller: caller(2),
      params: { dialog_id: d.id, message_id: ids[2]!, up_to: true },
    });
    // a repeat (same client_id / nothing new to mark) writes no event
    await h.rpc.request('dialogs.messages.seen', {
      caller: caller(2),
      params: { dialog_id: d.id, message_id: ids[2]! },
    });
    expect(await outboxRows(h)).toBe(4);
    expect(await streamEvents(h.nc, h.subjects)).toEqual([]);

    let crash = true;
    const relay = createOutboxRelay({
      ds: h.service.dataSource!,
      nc: h.nc,
      subjects: h.subjects,
      logger: silentLogger(),
      pollMs: 60_000,
      hooks: {
        afterPublish: () => {
          if (crash) throw new Error('killed after publish');
        },
      },
    });
    await expect(relay.runOnce()).rejects.toThrow('killed after publish');
    expect(await outboxRows(h)).toBe(4);
    expect(await streamEvents(h.nc, h.subjects)).toHaveLength(4);

    crash = false;
    expect(await relay.runOnce()).toBe(4);
    expect(await outboxRows(h)).toBe(0);
    const events = await streamEvents(h.nc, h.subjects);
    expect(events.map((e) => e.type)).toEqual([
      'message.created',
      'message.created',
      'message.created',
      'message.seen',
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(4);

    const created = events[0] as MessageCreatedEvent;
    expect(created).toMatchObject({
      dialog_id: d.id,
      with_role: null,
      origin: { user_id: 1, conn_id: 'conn-a' },
      message: { id: ids[0], markdown_body: 'one' },
    });
    expect(created.members).toEqual([
      {
        user_id: 1,
        dialogs_unread: 0,
        dialog_unread: 0,
        counters_changed: false,
        counters_version: expect.any(Number),
      },
      {
        user_id: 2,
        dialogs_unread: 1,
        dialog_unread: 1,
        counters_changed: true,
        counters_version: expect.any(Number),
      },
    ]);
    expect(created.recipients).toEqual([
      expect.objectContaining({
        user_id: 2,
        email: 'user2@example.com',
        email_notifications: false,
        is_active: true,
      }),
    ]);
    expect((events[2] as MessageCreatedEvent).members[1]).toMatchObject({ user_id: 2, dialog_unread: 3 });
    const seen = events[3] as MessageSeenEvent;
    expect(seen.seen_ids).toEqual(ids);
    expect(seen.message.date_read).not.toBeNull();
    expect(seen.members).toEqual([
      {
        user_id: 1,
        dialogs_unread: 0,
        dialog_unread: 0,
        counters_changed: false,
        counters_version: expect.any(Number),
      },
      {
        user_id: 2,
        dialogs_unread: 0,
        dialog_unread: 0,
        counters_changed: true,
        counters_version: expect.any(Number),
      },
    ]);
    await relay.stop();
  });
});

describe('two instances on one database and queue group', () => {
  let a: StartedDialogs;
  let b: StartedDialogs;
  beforeAll(async () => {
    a = await startDialogs({ config: { OUTBOX_POLL_MS: 50 } });
    b = await startDialogs({ db: a.db, prefix: a.prefix, config: { OUTBOX_POLL_MS: 50 } });
    await createUser(a.rpc, 1);
    await createUser(a.rpc, 2);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  test('concurrent creates from many tabs: ids in commit order, every event once and in order', async () => {
    const d = await createDialog(a.rpc, [1, 2]);
    const rpcs = [a.rpc, b.rpc];
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        rpcs[i % 2]!.request('dialogs.messages.create', {
          caller: caller(1 + (i % 2), `tab-${i % 5}`),
          params: { dialog_id: d.id, body: `m${i}`, client_id: `c${i}` },
        }),
      ),
    );
    const ids = answers.map((x) => x.data.id);
    expect(new Set(ids).size).toBe(60);
    const events = await waitFor(
      async () => {
        const all = (await streamEvents(a.nc, a.subjects)).filter((e) => e.type === 'message.created');
        return all.length >= 60 && (await outboxRows(a)) === 0 ? all : undefined;
      },
      { timeoutMs: 15_000, what: '60 events on the stream' },
    );
    expect(events).toHaveLength(60);
    const order = events.map((e) => (e as MessageCreatedEvent).message.id);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(new Set(order)).toEqual(new Set(ids));
    // the dialog's counters after the burst are the last event's
    const last = events[59] as MessageCreatedEvent;
    const page = await a.rpc.request('dialogs.messages.load', {
      caller: caller(1),
      params: { dialog_id: d.id, limit: 100 },
    });
    expect(page.data.map((m) => m.id)).toEqual([...ids].sort((x, y) => x - y));
    const dates = page.data.map((m) => m.date_created);
    expect(dates).toEqual([...dates].sort());
    for (const user of [1, 2]) {
      const { data } = await b.rpc.request('notifications.dialogs.messages.count', {
        caller: caller(user),
        params: { dialog_id: d.id },
      });
      expect(last.members.find((m) => m.user_id === user)?.dialog_unread).toBe(data.count);
    }
  });
});

describe('a NATS outage', () => {
  test('the relay catches up once NATS is back; nothing is lost or doubled', async () => {
    const nats = await startNatsServer();
    let h: StartedDialogs | undefined;
    try {
      h = await startDialogs({ config: { NATS_URL: [nats.url], OUTBOX_POLL_MS: 100 } });
      await createUser(h.rpc, 1);
      await createUser(h.rpc, 2);
      const d = await createDialog(h.rpc, [1, 2]);
      await h.rpc.request('dialogs.messages.create', {
        caller: caller(1),
        params: { dialog_id: d.id, body: 'before' },
      });
      await waitFor(async () => (await streamEvents(h!.nc, h!.subjects)).length === 1, {
        what: 'the first event',
      });

      await nats.kill();
      // while NATS is down, writes still commit (here straight through the write flow: requests need NATS)
      const { createMessage } = await import('../src/flows/create-message.js');
      const { sqlOf } = await import('../src/db/sql.js');
      const ds = h.service.dataSource!;
      const ctx = {
        ds,
        sql: sqlOf(ds),
        config: h.config,
        presence: undefined,
        turns: createDialogTurns(),
        writes: createGroupCommit(ds, { maxMembers: 1 }),
        outboxWritten: () => h!.service.relay?.poke(),
      };
      for (const body of ['during 1', 'during 2', 'during 3']) {
        await createMessage(
          ctx,
          caller(2),
          { dialog_id: d.id, body, file_id: null, reply_id: null, lesson_id: null, client_id: null },
          null,
        );
      }
      expect(await outboxRows(h)).toBe(3);

      await nats.restart();
      await waitFor(async () => (await outboxRows(h!)) === 0, {
        timeoutMs: 20_000,
        what: 'the outbox to drain',
      });
      const events = (await streamEvents(h.nc, h.subjects)) as MessageCreatedEvent[];
      expect(events.map((e) => e.message.markdown_body)).toEqual([
        'before',
        'during 1',
        'during 2',
        'during 3',
      ]);
      const rpc = createRpcClient(h.nc, h.subjects, { timeoutMs: 5_000 });
      expect((await rpc.request('notifications.dialogs.count', { caller: caller(1), params: {} })).data).toBe(
        1,
      );
    } finally {
      await h?.stop();
      await nats.stop();
    }
  }, 60_000);
});
