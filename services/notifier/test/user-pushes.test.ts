/**
 * The per-user push outbox (pure logic: the feed append is a recording fake): counter frames held in
 * the coalescing window leave as the newest value of each counter, whatever order the events came in.
 */
import { afterEach, expect, test } from '@jest/globals';
import type { FeedItem } from '@parley/protocol';
import { createUserPushes, type Entry, type UserPushes } from '../src/actors/user-pushes.js';
import type { MemberPush } from '../src/fanout.js';

let pushes: UserPushes | undefined;
afterEach(() => pushes?.dispose());

/** the push of message `n` to user 2, with counters at version `n` (the count is `n` too) */
function push(n: number): MemberPush {
  const counters: FeedItem[] = [
    { event: 'notifications.dialogs.count', data: 1 },
    { event: 'notifications.dialogs.messages.count', data: { count: n, dialog_id: 7 } },
  ];
  return {
    event_id: `e${n}`,
    user_id: 2,
    frame: { event: 'dialogs.messages.create', data: { id: n } } as unknown as FeedItem,
    frameSkip: null,
    counters,
    version: n,
    countersSkip: null,
  };
}

test('a redelivered older event in the window does not replace the newer counters held: the newest leaves', async () => {
  const appended: Entry[][] = [];
  pushes = createUserPushes({
    windowMs: 100,
    publish: async (_user, entries) => {
      appended.push(entries);
    },
  });
  await pushes.push(push(9)); // counters sent with their frame (none within the window)
  const held = pushes.push(push(10)); // within the window: counters held
  const redelivered = pushes.push(push(5)); // an older event again (its ack was lost)
  await Promise.all([held, redelivered]);
  const counters = appended.flat().filter((e) => e.entry.item.event !== 'dialogs.messages.create');
  const last = counters.slice(-2).map((e) => [e.entry.item.event, e.entry.version]);
  expect(last).toEqual([
    ['notifications.dialogs.count', 10],
    ['notifications.dialogs.messages.count', 10],
  ]);
  expect(counters.some((e) => e.entry.version === 5)).toBe(false);
});

test('newer values in the window replace the held ones: one counter frame each, the latest', async () => {
  const appended: Entry[][] = [];
  pushes = createUserPushes({
    windowMs: 100,
    publish: async (_user, entries) => {
      appended.push(entries);
    },
  });
  await pushes.push(push(1));
  await Promise.all([2, 3, 4].map((n) => pushes!.push(push(n))));
  const counters = appended.flat().filter((e) => e.entry.item.event !== 'dialogs.messages.create');
  expect(counters.map((e) => e.entry.version)).toEqual([1, 1, 4, 4]);
  const frames = appended.flat().filter((e) => e.entry.item.event === 'dialogs.messages.create');
  expect(frames.map((e) => e.msgId)).toEqual(['e1:2:frame', 'e2:2:frame', 'e3:2:frame', 'e4:2:frame']);
});
