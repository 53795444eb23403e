/**
 * The counters version (PROTOCOL.md §8, migration 0003): every event's member states carry the user's
 * version, bumped in the transaction of the change for every user the event pushes counters to, so a
 * later state of a user's counters always has a higher version than an earlier one.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import type { DomainEvent, MemberState } from '@parley/protocol';
import { waitFor } from '@parley/testing';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { streamEvents } from './support.js';

let h: StartedDialogs;

beforeAll(async () => {
  h = await startDialogs({ config: { OUTBOX_POLL_MS: 50 } });
  for (const id of [1, 2, 3]) await createUser(h.rpc, id);
  await createUser(h.rpc, 10, { role: 'support' });
  await createUser(h.rpc, 11, { role: 'support' });
});

afterAll(async () => {
  await h?.stop();
});

const stateOf = (e: DomainEvent | undefined, userId: number): MemberState | undefined =>
  e?.members.find((m) => m.user_id === userId);

async function eventsAfter(n: number): Promise<DomainEvent[]> {
  return waitFor(
    async () => {
      const events = await streamEvents(h.nc, h.subjects);
      return events.length >= n ? events : undefined;
    },
    { timeoutMs: 10_000, what: `${n} events` },
  );
}

const create = (from: number, dialogId: number, body: string) =>
  h.rpc.request('dialogs.messages.create', {
    caller: caller(from, 'c'),
    params: { dialog_id: dialogId, body },
  });

test('create bumps the other members; seen bumps every member, the author of the seen message too', async () => {
  const d = await createDialog(h.rpc, [1, 2]);
  const other = await createDialog(h.rpc, [2, 3]);
  const first = (await create(1, d.id, 'one')).data.id;
  await create(3, other.id, 'elsewhere');
  await create(1, d.id, 'two');
  await h.rpc.request('dialogs.messages.seen', {
    caller: caller(2, 'r'),
    params: { dialog_id: d.id, message_id: first, up_to: false },
  });
  const [c1, c2, c3, seen] = await eventsAfter(4);

  const v = (e: DomainEvent | undefined, u: number) => stateOf(e, u)?.counters_version ?? -1;
  // user 2's counters moved three times (two messages in d, one in the other dialog), then went down once
  expect(v(c1, 2)).toBeGreaterThan(0);
  expect(v(c2, 2)).toBeGreaterThan(v(c1, 2));
  expect(v(c3, 2)).toBeGreaterThan(v(c2, 2));
  expect(v(seen, 2)).toBeGreaterThan(v(c3, 2));
  // the author's counters did not move on create: no bump; the seen pushes counters to them too: bumped
  expect(v(c3, 1)).toBe(v(c1, 1));
  expect(v(seen, 1)).toBeGreaterThan(v(c3, 1));
  // values and versions belong together: the newest state of user 2 is the current truth
  expect(stateOf(seen, 2)).toMatchObject({ dialogs_unread: 2, dialog_unread: 1 });
  const total = await h.rpc.request('notifications.dialogs.count', { caller: caller(2, 'x'), params: {} });
  expect(total.data).toBe(2);
});

test('a support dialog: the team gets a new version when its counter moves', async () => {
  const before = (await streamEvents(h.nc, h.subjects)).length;
  const d = await createDialog(h.rpc, [3], 'support');
  await create(3, d.id, 'help');
  await create(3, d.id, 'please');
  const events = await eventsAfter(before + 2);
  const [a, b] = events.slice(before);
  for (const support of [10, 11]) {
    expect(stateOf(a, support)?.counters_changed).toBe(true);
    expect(stateOf(b, support)?.counters_version ?? 0).toBeGreaterThan(
      stateOf(a, support)?.counters_version ?? 0,
    );
  }
});
