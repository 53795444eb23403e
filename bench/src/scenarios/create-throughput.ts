/**
 * (1) `dialogs.messages.create` throughput and answer latency: every sender socket in a closed loop
 * (one frame in flight each), receivers connected so every push and counter frame is produced too.
 * Baseline in the same run: the same transaction shape straight on MariaDB (lock the dialog row, insert
 * the message, update the dialog, update the other member rows; one fsync per commit) on as many
 * connections as the dialogs service's pool, into the same tables.
 */
import type { BenchContext, Finding } from '../context.js';
import { perMessage } from '../cpu.js';
import { closedLoop } from '../pacing.js';
import type { Pair } from '../pairs.js';
import { summarize } from '../stats.js';

export interface CreatePlan {
  ms: number;
  maxOps: number;
  /** connections of the raw baseline (the dialogs service's DB_POOL_SIZE default) */
  rawConnections: number;
  rawMs: number;
  /** user ids for the raw baseline's own dialogs */
  rawFirstUserId: number;
}

export async function createThroughput(
  ctx: BenchContext,
  pairs: Pair[],
  plan: CreatePlan,
): Promise<Finding[]> {
  const { value: raw, reading: rawReading } = await ctx.cpuDuring(() => rawCreateTransactions(ctx, plan));
  // what the baseline's transaction costs: the database, and this process as its only client
  const rawCpu = perMessage(rawReading, raw.count, [
    'dialogs',
    'notifier',
    'mailer',
    'gateway',
    'nats-server',
  ]);
  ctx.log(
    `  raw MariaDB create tx: ${raw.perSec.toFixed(0)}/s, p99 ${raw.p99.toFixed(1)} ms; ${rawCpu.text.replace('per message', 'per transaction')}`,
  );

  const run = await closedLoopCreates(ctx, pairs, plan);
  ctx.extra.create = {
    perSec: run.perSec,
    p50: run.p50,
    p99: run.p99,
    errors: run.errors,
    raw: {
      perSec: raw.perSec,
      p50: raw.p50,
      p99: raw.p99,
      connections: plan.rawConnections,
      cpuMsPerTransaction: rawCpu.by,
    },
    ratioToRaw: run.perSec / raw.perSec,
    cpuMsPerMessage: run.cpuMsPerMessage,
    cpuMsPerMessageSum: run.cpuMsPerMessageSum,
  };
  const what = `raw MariaDB tx, ${plan.rawConnections} conns`;
  return [
    {
      metric: `messages.create throughput (${pairs.length} sockets, closed loop)`,
      unit: 'msg/s',
      better: 'higher',
      parley: run.perSec,
      baseline: { value: raw.perSec, what },
      reference: 60,
      note: `${run.errors} error answers; ${run.cpu}; ${run.cpuPerMessage}`,
    },
    {
      metric: 'messages.create answer latency p50',
      unit: 'ms',
      better: 'lower',
      parley: run.p50,
      baseline: { value: raw.p50, what },
    },
    {
      metric: 'messages.create answer latency p99',
      unit: 'ms',
      better: 'lower',
      parley: run.p99,
      baseline: { value: raw.p99, what },
    },
  ];
}

export interface ClosedLoopRun {
  perSec: number;
  p50: number;
  p99: number;
  /** answered creates (the throughput counts these) */
  answered: number;
  errors: number;
  ms: number;
  /** "cpu (% of one core): …" */
  cpu: string;
  /** "dialogs 0.80, … = 2.90 ms CPU per message" */
  cpuPerMessage: string;
  cpuMsPerMessage: Record<string, number>;
  cpuMsPerMessageSum: number;
}

/**
 * The closed loop itself: every pair's sender creates in its own dialog, one frame in flight per socket,
 * for `plan.ms` or `plan.maxOps` creates; CPU per message of each process measured meanwhile. Also the
 * feed-cost phase's loop (with and without the notifier), so both figures come from the same code.
 */
export async function closedLoopCreates(
  ctx: BenchContext,
  /** one writer per socket (a pair's sender, or several sockets into one dialog) */
  pairs: ReadonlyArray<Pick<Pair, 'sender' | 'dialogId'>>,
  plan: { ms: number; maxOps: number },
  tag = 'throughput',
): Promise<ClosedLoopRun> {
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const {
    value: run,
    cpu,
    reading,
  } = await ctx.cpuDuring(() =>
    closedLoop(pairs.length, plan.ms, plan.maxOps, async (w) => {
      const p = pairs[w]!;
      const { frame, ms } = await p.sender.request('dialogs.messages.create', {
        dialog_id: p.dialogId,
        body: `${tag} **${++seq}**`,
      });
      if (frame.exception) errors++;
      else latencies.push(ms);
    }),
  );
  const s = summarize(latencies);
  const perSec = (latencies.length / run.ms) * 1000;
  ctx.log(`  parley create: ${perSec.toFixed(0)}/s over ${(run.ms / 1000).toFixed(1)} s, ${errors} errors`);
  const perMsg = perMessage(reading, latencies.length);
  ctx.log(`  ${perMsg.text}`);
  return {
    perSec,
    p50: s.p50,
    p99: s.p99,
    answered: latencies.length,
    errors,
    ms: run.ms,
    cpu,
    cpuPerMessage: perMsg.text,
    cpuMsPerMessage: perMsg.by,
    cpuMsPerMessageSum: perMsg.sum,
  };
}

async function rawCreateTransactions(ctx: BenchContext, plan: CreatePlan) {
  const n = plan.rawConnections;
  const users = Array.from({ length: n * 2 }, (_, i) => plan.rawFirstUserId + i);
  await ctx.admin.upsertUsers(users);
  const dialogs = await ctx.admin.createDialogs(
    Array.from({ length: n }, (_, i) => [users[2 * i]!, users[2 * i + 1]!]),
  );
  const latencies: number[] = [];
  const conns = await Promise.all(Array.from({ length: n }, () => ctx.db.getConnection()));
  try {
    let seq = 0;
    const run = await closedLoop(n, plan.rawMs, plan.maxOps, async (w) => {
      const c = conns[w]!;
      const dialogId = dialogs[w]!;
      const author = users[2 * w]!;
      const started = performance.now();
      await c.beginTransaction();
      const [[locked]] = (await c.query('SELECT id, message_count FROM dialogs WHERE id = ? FOR UPDATE', [
        dialogId,
      ])) as unknown as [[{ message_count: number }]];
      const body = `raw ${++seq}`;
      const [ins] = (await c.query(
        'INSERT INTO messages (dialog_id, position, user_id, markdown_body, body, date_created) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))',
        [dialogId, Number(locked.message_count) + 1, author, body, `<p>${body}</p>`],
      )) as unknown as [{ insertId: number }];
      await c.query(
        'UPDATE dialogs SET last_message_id = ?, last_activity = UTC_TIMESTAMP(6), message_count = message_count + 1 WHERE id = ?',
        [ins.insertId, dialogId],
      );
      await c.query(
        'UPDATE dialog_members SET unread_count = unread_count + 1, last_activity = UTC_TIMESTAMP(6) WHERE dialog_id = ? AND user_id <> ?',
        [dialogId, author],
      );
      await c.commit();
      latencies.push(performance.now() - started);
    });
    const s = summarize(latencies);
    return { perSec: (latencies.length / run.ms) * 1000, p50: s.p50, p99: s.p99, count: latencies.length };
  } finally {
    for (const c of conns) c.release();
  }
}
