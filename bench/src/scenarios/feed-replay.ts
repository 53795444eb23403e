/**
 * (6) Resume (PROTOCOL.md §8): a receiver misses `missed` messages (its other socket stays open to know
 * when the feed holds them all), then reconnects and asks `sync` from the last seq it had. Measured: the
 * time from starting the reconnect to the sync answer, and the replay rate (frames replayed per second
 * of the sync request). Baseline in the same run: reading the same feed entries straight from
 * JetStream with an ordered consumer in this process (no gateway, no socket).
 */
import type { NatsConnection } from 'nats';
import type { BenchContext, Finding } from '../context.js';
import { forEachLimited, sleep } from '../pacing.js';
import type { Pair } from '../pairs.js';
import { type Frame, openSocket } from '../socket.js';

export interface FeedReplayPlan {
  missed: number;
  /** creates in flight while the messages are sent */
  concurrency: number;
  /** bound of the whole scenario */
  ms: number;
}

export async function feedReplay(ctx: BenchContext, pair: Pair, plan: FeedReplayPlan): Promise<Finding[]> {
  const deadline = performance.now() + plan.ms;
  let lastSeq = 0;
  let creates = 0;
  pair.receiver.onPush((f: Frame) => {
    if (typeof f.seq === 'number') lastSeq = Math.max(lastSeq, f.seq);
    if (f.event === 'dialogs.messages.create') creates++;
  });
  // a first message gives the receiver a seq to resume from
  await pair.sender.request('dialogs.messages.create', {
    dialog_id: pair.dialogId,
    body: 'resume from here',
  });
  while (creates < 1 && performance.now() < deadline) await sleep(20);
  const since = lastSeq;
  const target = creates + plan.missed;
  await forEachLimited(
    Array.from({ length: plan.missed }, (_, i) => i),
    plan.concurrency,
    async (i) => {
      await pair.sender.request('dialogs.messages.create', { dialog_id: pair.dialogId, body: `missed ${i}` });
    },
  );
  while (creates < target && performance.now() < deadline) await sleep(20);
  if (creates < target)
    throw new Error(`only ${creates - target + plan.missed} of ${plan.missed} pushes arrived`);
  const latest = lastSeq;

  const started = performance.now();
  const sock = await openSocket(await ctx.wsUrlFor(pair.receiverId));
  let replayedFrames = 0;
  sock.onPush((f: Frame) => {
    if (typeof f.seq === 'number' && f.seq <= latest) replayedFrames++;
  });
  const syncStarted = performance.now();
  const { frame } = await sock.request('sync', { since }, 30_000);
  const done = performance.now();
  sock.close();
  if (frame.exception || frame.data?.resync_required)
    throw new Error(`sync failed: ${JSON.stringify(frame)}`);
  const replayed = Number(frame.data.replayed);
  const rate = replayed / ((done - syncStarted) / 1000);
  ctx.log(
    `  replayed ${replayed} frames (${replayedFrames} seen before the answer) for ${plan.missed} missed messages`,
  );

  const floor = await readFeed(ctx.nc, ctx.sys.prefix, pair.receiverId, since, latest);
  return [
    {
      metric: `reconnect → sync answer, ${plan.missed} missed messages`,
      unit: 'ms',
      better: 'lower',
      parley: done - started,
      baseline: { value: floor.ms, what: 'ordered consumer read of the same entries, in-process' },
      note: `${replayed} frames replayed (counters collapsed)`,
    },
    {
      metric: 'replay rate',
      unit: 'frames/s',
      better: 'higher',
      parley: rate,
      baseline: { value: floor.count / (floor.ms / 1000), what: 'ordered consumer read, in-process' },
    },
  ];
}

/** the floor: the same entries read with an ordered consumer, no gateway */
async function readFeed(
  nc: NatsConnection,
  prefix: string,
  userId: number,
  after: number,
  upto: number,
): Promise<{ count: number; ms: number }> {
  const token = prefix.replace(/\./g, '_');
  const started = performance.now();
  const consumer = await nc.jetstream().consumers.get(`${token}_feed`, {
    filterSubjects: `${prefix}.feed.user.${userId}`,
    opt_start_seq: after + 1,
  });
  const messages = await consumer.consume({ max_messages: 256 });
  let count = 0;
  for await (const m of messages) {
    count++;
    if (m.seq >= upto || m.info.pending === 0) break;
  }
  await messages.close();
  return { count, ms: performance.now() - started };
}
