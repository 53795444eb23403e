/**
 * The reviewer's queue (PROTOCOL.md §9): the first page of `dialogs.load {filter: "awaiting_reply"}`
 * and `notifications.dialogs.awaiting.count` for a reviewer with 10 dialogs awaiting and one with
 * 10,000, over WebSocket in the same run — the 10-dialog figure is the baseline the 10,000 one is
 * held against (both are index ranges and stored counts: the figures should not grow with the queue).
 * The queues are seeded straight into the tables (the plans, not the write path, are measured).
 */
import type { BenchContext, Finding } from '../context.js';
import { closedLoop } from '../pacing.js';
import { openSocket } from '../socket.js';
import { summarize } from '../stats.js';

export interface AwaitingPlan {
  firstUserId: number;
  small: number;
  large: number;
  iterations: number;
}

async function seedQueue(ctx: BenchContext, reviewer: number, student: number, n: number): Promise<void> {
  for (let start = 0; start < n; start += 1000) {
    const size = Math.min(1000, n - start);
    const dates = Array.from({ length: size }, (_, i) => {
      const s = start + i;
      return `2026-01-01 00:00:00.${String(s % 1_000_000).padStart(6, '0')}`;
    });
    const [r] = (await ctx.db.query(
      `INSERT INTO dialogs (date_created, last_activity, awaiting_since) VALUES ${dates.map(() => '(?, ?, ?)').join(', ')}`,
      dates.flatMap((d) => [d, d, d]),
    )) as unknown as [{ insertId: number }];
    const first = Number(r.insertId);
    const rows = dates.flatMap((d, i) => [
      [first + i, student, 0, d, d, null],
      [first + i, reviewer, 1, d, d, d],
    ]);
    await ctx.db.query(
      `INSERT INTO dialog_members (dialog_id, user_id, position, last_activity, date_joined, awaiting_since)
       VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
      rows.flat(),
    );
  }
  await ctx.db.query("UPDATE users SET role = 'reviewer', awaiting_count = ? WHERE id = ?", [n, reviewer]);
}

export async function awaitingQueue(ctx: BenchContext, plan: AwaitingPlan): Promise<Finding[]> {
  const small = plan.firstUserId;
  const large = plan.firstUserId + 1;
  const student = plan.firstUserId + 2;
  await ctx.admin.upsertUsers([small, large, student]);
  await seedQueue(ctx, small, student, plan.small);
  await seedQueue(ctx, large, student, plan.large);
  await ctx.db.query('ANALYZE TABLE dialogs, dialog_members');

  const measure = async (user: number, expected: number) => {
    const sock = await openSocket(await ctx.wsUrlFor(user));
    try {
      let wrong = 0;
      const load: number[] = [];
      await closedLoop(1, 20_000, plan.iterations, async () => {
        const { frame, ms } = await sock.request('dialogs.load', { filter: 'awaiting_reply', limit: 20 });
        if (frame.meta?.total !== expected || frame.data?.length !== Math.min(20, expected)) wrong++;
        load.push(ms);
      });
      const count: number[] = [];
      await closedLoop(1, 20_000, plan.iterations, async () => {
        const { frame, ms } = await sock.request('notifications.dialogs.awaiting.count', {});
        if (frame.data?.count !== expected) wrong++;
        count.push(ms);
      });
      return { load: summarize(load), count: summarize(count), wrong };
    } finally {
      sock.close();
    }
  };
  const s = await measure(small, plan.small);
  const l = await measure(large, plan.large);
  ctx.log(`  wrong answers: ${s.wrong + l.wrong}`);
  const note = s.wrong + l.wrong ? `${s.wrong + l.wrong} WRONG answers` : 'every answer as seeded';
  return [
    {
      metric: `queue first page p99 (reviewer with ${plan.large} awaiting)`,
      unit: 'ms',
      better: 'lower',
      parley: l.load.p99,
      baseline: { value: s.load.p99, what: `the same with ${plan.small} awaiting` },
      note,
    },
    {
      metric: `awaiting count p99 (reviewer with ${plan.large} awaiting)`,
      unit: 'ms',
      better: 'lower',
      parley: l.count.p99,
      baseline: { value: s.count.p99, what: `the same with ${plan.small} awaiting` },
      note,
    },
  ];
}
