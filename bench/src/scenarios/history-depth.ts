/**
 * (6) History pages at depth: one dialog of many messages (seeded straight into the table with their
 * positions; the write path is measured elsewhere), then `dialogs.messages.load` over WebSocket for the
 * newest page, the page at the oldest end by `offset`, and the page at the oldest end by `before_id`.
 * Baseline in the same run, straight on MariaDB: the OFFSET query history used before positions (index
 * `(dialog_id, id)`, read backwards, `offset` rows read and discarded). Every answer is checked.
 */
import type { BenchContext, Finding } from '../context.js';
import { closedLoop } from '../pacing.js';
import { openSocket } from '../socket.js';
import { summarize } from '../stats.js';

export interface HistoryPlan {
  firstUserId: number;
  messages: number;
  limit: number;
  iterations: number;
}

const OLD_OFFSET_SQL = `SELECT id, dialog_id, user_id, markdown_body, body, file_id, reply_id, lesson_id, client_id,
    date_created, date_read FROM messages FORCE INDEX (ix_messages_dialog_id)
  WHERE dialog_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`;

export async function historyDepth(ctx: BenchContext, plan: HistoryPlan): Promise<Finding[]> {
  const [a, b] = [plan.firstUserId, plan.firstUserId + 1];
  await ctx.admin.upsertUsers([a, b]);
  const [dialogId] = await ctx.admin.createDialogs([[a, b]]);
  if (dialogId === undefined) throw new Error('could not create the history dialog');
  const ids = await seed(ctx, dialogId, a, b, plan.messages);
  const deepOffset = plan.messages - plan.limit;
  const oldest = ids.slice(0, plan.limit);

  const sock = await openSocket(await ctx.wsUrlFor(a));
  try {
    let wrong = 0;
    const measure = async (params: Record<string, unknown>, expected: number[]) => {
      const samples: number[] = [];
      await closedLoop(1, 20_000, plan.iterations, async () => {
        const { frame, ms } = await sock.request('dialogs.messages.load', { dialog_id: dialogId, ...params });
        const got = Array.isArray(frame.data) ? frame.data.map((m: { id: number }) => m.id) : [];
        if (frame.exception || got.join() !== expected.join()) wrong++;
        samples.push(ms);
      });
      return summarize(samples);
    };
    const newest = await measure({ limit: plan.limit, offset: 0 }, ids.slice(-plan.limit));
    const deep = await measure({ limit: plan.limit, offset: deepOffset }, oldest);
    const cursor = await measure({ limit: plan.limit, before_id: ids[plan.limit] }, oldest);
    const sql: number[] = [];
    await closedLoop(1, 20_000, plan.iterations, async () => {
      const started = performance.now();
      await ctx.db.query(OLD_OFFSET_SQL, [dialogId, plan.limit, deepOffset]);
      sql.push(performance.now() - started);
    });
    const old = summarize(sql);
    ctx.log(
      `  dialog of ${plan.messages} messages, pages of ${plan.limit}: ${wrong ? `${wrong} WRONG pages` : 'every page right'}`,
    );
    const what = `OFFSET ${deepOffset} on (dialog_id, id), SQL only`;
    const note = 'over WebSocket, whole round trip';
    return [
      ...(['p50', 'p99'] as const).flatMap((q) => [
        {
          metric: `history newest page ${q} (${plan.messages}-message dialog)`,
          unit: 'ms',
          better: 'lower' as const,
          parley: newest[q],
          note,
        },
        {
          metric: `history page at offset ${deepOffset} ${q}`,
          unit: 'ms',
          better: 'lower' as const,
          parley: deep[q],
          baseline: { value: old[q], what },
          note: wrong ? `${wrong} WRONG pages` : note,
        },
        {
          metric: `history page before_id at the oldest end ${q}`,
          unit: 'ms',
          better: 'lower' as const,
          parley: cursor[q],
          baseline: { value: old[q], what },
          note,
        },
      ]),
    ];
  } finally {
    sock.close();
  }
}

/** `n` messages of the dialog, positions 1..n, in batches; answers their ids oldest first. */
async function seed(ctx: BenchContext, dialogId: number, a: number, b: number, n: number): Promise<number[]> {
  const batch = 1_000;
  for (let start = 0; start < n; start += batch) {
    const rows = Array.from({ length: Math.min(batch, n - start) }, (_, i) => {
      const k = start + i;
      return [dialogId, k + 1, k % 2 ? b : a, `history ${k}`, `<p>history ${k}</p>`];
    });
    await ctx.db.query(
      `INSERT INTO messages (dialog_id, position, user_id, markdown_body, body, date_created, date_read)
       VALUES ${rows.map(() => '(?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))').join(', ')}`,
      rows.flat(),
    );
  }
  const [rows] = (await ctx.db.query('SELECT id FROM messages WHERE dialog_id = ? ORDER BY position', [
    dialogId,
  ])) as unknown as [{ id: number }[]];
  const ids = rows.map((r) => Number(r.id));
  await ctx.db.query(
    'UPDATE dialogs SET message_count = ?, last_message_id = ?, last_activity = UTC_TIMESTAMP(6) WHERE id = ?',
    [n, ids.at(-1), dialogId],
  );
  await ctx.db.query('ANALYZE TABLE messages');
  return ids;
}
