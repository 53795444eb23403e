/**
 * (8) What the feed costs on the create path (PROTOCOL.md §8): the closed loop of (1), three times in
 * a row on the same sockets — with the feed, without it, with it again — so the two runs with the feed
 * bracket the one without and a drift of the machine's load shows as a gap between them. "Without the
 * feed" = the notifier stopped (by the PID this run started it with): no feed appends, no pushes; the
 * dialogs service, its outbox relay, JetStream, the mailer and the gateway do everything else as usual.
 * Afterwards the notifier is started again and has caught up (its partitions' work queue is empty, every
 * receiver got a new push) before the third run and before any later phase.
 */
import { subjects } from '@parley/protocol';
import type { BenchContext, Finding } from '../context.js';
import { loadNow } from '../machine.js';
import { sleep } from '../pacing.js';
import type { Pair } from '../pairs.js';
import { everyPairGetsAPush } from '../warmup.js';
import { type ClosedLoopRun, closedLoopCreates } from './create-throughput.js';

export interface FeedCostPlan {
  /** each of the three closed-loop runs, as in the create phase */
  ms: number;
  maxOps: number;
  /** bound on the restarted notifier working off the events it missed */
  catchUpMs: number;
}

interface Measured {
  label: string;
  feed: boolean;
  load: string;
  run: ClosedLoopRun;
}

const ORDER =
  'with the feed → without (notifier stopped) → with the feed again (notifier restarted, caught up)';

export async function feedCost(ctx: BenchContext, pairs: Pair[], plan: FeedCostPlan): Promise<Finding[]> {
  const runs: Measured[] = [];
  const measure = async (label: string, feed: boolean) => {
    const load = loadNow();
    ctx.log(`  ${label} (load ${load}):`);
    runs.push({ label, feed, load, run: await closedLoopCreates(ctx, pairs, plan) });
  };
  ctx.log(`  order: ${ORDER}`);

  await measure('1st run, with the feed', true);
  const stopStarted = performance.now();
  const stopped = await ctx.sys.stopService('notifier');
  ctx.log(
    `  notifier pid ${stopped.pid} stopped (SIGTERM) in ${(performance.now() - stopStarted).toFixed(0)} ms`,
  );
  let restart: Awaited<ReturnType<typeof restartNotifier>>;
  try {
    await measure('2nd run, without the feed (notifier stopped)', false);
  } finally {
    // whatever happened, the later phases get their notifier back
    restart = await restartNotifier(ctx, pairs, plan);
  }
  await measure('3rd run, with the feed again', true);

  const withRuns = runs.filter((r) => r.feed).map((r) => r.run);
  const without = runs.find((r) => !r.feed)!.run;
  const mean = (f: (r: ClosedLoopRun) => number) => withRuns.reduce((a, r) => a + f(r), 0) / withRuns.length;
  const withPerSec = mean((r) => r.perSec);
  const ratio = withPerSec / without.perSec;
  const labels = [...new Set(withRuns.flatMap((r) => Object.keys(r.cpuMsPerMessage)))];
  const cpuWith = Object.fromEntries(labels.map((l) => [l, mean((r) => r.cpuMsPerMessage[l] ?? Number.NaN)]));
  const cpuWithSum = mean((r) => r.cpuMsPerMessageSum);
  const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(2));

  const [first, , third] = runs.map((r) => r.run);
  const summary = `feed cost: ${withPerSec.toFixed(0)} msg/s with the feed vs ${without.perSec.toFixed(0)} without (${ratio.toFixed(2)}×)`;
  const detail = `runs in this order: with ${first!.perSec.toFixed(0)}, without ${without.perSec.toFixed(0)}, with ${third!.perSec.toFixed(0)} msg/s (the with-feed figure is the mean of the 1st and 3rd)`;
  const cpuLine = `CPU ms per message, with the feed (mean of 1st and 3rd) vs without: ${labels
    .map((l) => `${l} ${fmt(cpuWith[l])} vs ${fmt(without.cpuMsPerMessage[l])}`)
    .join(', ')}; sum ${cpuWithSum.toFixed(2)} vs ${without.cpuMsPerMessageSum.toFixed(2)}`;
  ctx.log(`  ${summary}`);
  ctx.log(`  ${detail}`);
  ctx.log(`  ${cpuLine}`);

  ctx.extra.feedCost = {
    order: runs.map((r) => (r.feed ? 'with' : 'without')),
    withPerSec,
    withoutPerSec: without.perSec,
    ratio,
    cpuMsPerMessageWith: cpuWith,
    cpuMsPerMessageWithSum: cpuWithSum,
    cpuMsPerMessageWithout: without.cpuMsPerMessage,
    cpuMsPerMessageWithoutSum: without.cpuMsPerMessageSum,
    notifier: { stoppedPid: stopped.pid, ...restart },
    runs: runs.map((r) => ({
      feed: r.feed,
      load: r.load,
      perSec: r.run.perSec,
      p50: r.run.p50,
      p99: r.run.p99,
      errors: r.run.errors,
      cpuMsPerMessage: r.run.cpuMsPerMessage,
      cpuMsPerMessageSum: r.run.cpuMsPerMessageSum,
    })),
  };
  const what = 'same loop, notifier stopped';
  const errors = runs.reduce((a, r) => a + r.run.errors, 0);
  return [
    {
      metric: `messages.create throughput with the feed (${pairs.length} sockets, mean of 2 runs)`,
      unit: 'msg/s',
      better: 'higher',
      parley: withPerSec,
      baseline: { value: without.perSec, what },
      note: `${detail}; ${errors} error answers in the three runs; ${cpuLine}; the restarted notifier (pid ${restart.pid}) was ready after ${restart.readyMs.toFixed(0)} ms and worked off ${restart.backlog} missed events in ${restart.catchUpMs.toFixed(0)} ms`,
    },
    {
      metric: 'messages.create answer latency p99 with the feed (mean of 2 runs)',
      unit: 'ms',
      better: 'lower',
      parley: mean((r) => r.p99),
      baseline: { value: without.p99, what },
    },
    {
      metric: 'CPU per message with the feed, all processes (mean of 2 runs)',
      unit: 'ms',
      better: 'lower',
      parley: cpuWithSum,
      baseline: { value: without.cpuMsPerMessageSum, what },
    },
  ];
}

/**
 * Start the notifier again (same env) and wait until it has worked off what it missed: /readyz (it holds
 * its partitions and consumes them), its partitions' work queue empty, and one new
 * message per pair pushed to the receiver.
 */
async function restartNotifier(ctx: BenchContext, pairs: Pair[], plan: FeedCostPlan) {
  const s = subjects(ctx.sys.prefix);
  const jsm = await ctx.nc.jetstreamManager();
  // the notifier's input is a work queue (one copy per user partition): what it holds is still to do
  const pending = async () => (await jsm.streams.info(s.notifyStream)).state.messages;
  const backlog = await pending();
  const started = performance.now();
  const child = await ctx.sys.startService('notifier');
  const readyMs = performance.now() - started;
  const deadline = performance.now() + plan.catchUpMs;
  let left = await pending();
  while (left > 0 && performance.now() < deadline) {
    await sleep(200);
    left = await pending();
  }
  if (left > 0)
    throw new Error(`the restarted notifier still had ${left} events to handle after ${plan.catchUpMs} ms`);
  await everyPairGetsAPush(pairs, 'after the restart', Math.max(1_000, deadline - performance.now()));
  const catchUpMs = performance.now() - started - readyMs;
  ctx.log(
    `  notifier restarted as pid ${child.pid}: ready after ${readyMs.toFixed(0)} ms, ${backlog} missed events handled and every receiver pushed to after ${catchUpMs.toFixed(0)} ms more`,
  );
  return { pid: child.pid, backlog, readyMs, catchUpMs };
}
