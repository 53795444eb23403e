/**
 * (4) `notifications.dialogs.count` for a user with many dialogs, some unread: Parley answers from a
 * counter kept in the create/seen transactions. Baselines in the same run, straight on MariaDB: the
 * ground-truth COUNT over messages (one aggregate query, which also checks Parley's answer) and the
 * replaced stack's shape (one COUNT per dialog of the user).
 */
import type { BenchContext, Finding } from '../context.js';
import { closedLoop, forEachLimited } from '../pacing.js';
import { type BenchSocket, openSocket } from '../socket.js';
import { summarize } from '../stats.js';

export interface UnreadPlan {
  firstUserId: number;
  partners: number;
  dialogsPerPartner: number;
  messagesPerDialog: number;
  /** dialogs the user reads everything in (the rest stay unread) */
  readDialogs: number;
  iterations: number;
  loopIterations: number;
}

const GROUND_TRUTH = `SELECT COUNT(DISTINCT m.dialog_id) AS n
  FROM dialog_members dm JOIN messages m ON m.dialog_id = dm.dialog_id
  WHERE dm.user_id = ? AND m.date_read IS NULL AND m.user_id <> ?`;
const PER_DIALOG =
  'SELECT COUNT(*) AS n FROM messages WHERE dialog_id = ? AND date_read IS NULL AND user_id <> ?';

export async function unreadCount(ctx: BenchContext, plan: UnreadPlan): Promise<Finding[]> {
  const user = plan.firstUserId;
  const { dialogs, lastMessage } = await seed(ctx, plan);
  const sock = await openSocket(await ctx.wsUrlFor(user));
  try {
    await forEachLimited(dialogs.slice(0, plan.readDialogs), 4, async (dialogId) => {
      const { frame } = await sock.request('dialogs.messages.seen', {
        dialog_id: dialogId,
        message_id: lastMessage.get(dialogId),
        up_to: true,
      });
      if (frame.exception) throw new Error(`seen failed: ${JSON.stringify(frame.error)}`);
    });
    const expected = dialogs.length - plan.readDialogs;
    const truth = await groundTruth(ctx, user);
    if (truth !== expected)
      throw new Error(`seeding went wrong: ground truth ${truth}, expected ${expected}`);

    let wrong = 0;
    const parley: number[] = [];
    await closedLoop(1, 20_000, plan.iterations, async () => {
      const { frame, ms } = await sock.request('notifications.dialogs.count', {});
      if (frame.data !== truth) wrong++;
      parley.push(ms);
    });
    const sql: number[] = [];
    await closedLoop(1, 20_000, plan.iterations, async () => {
      const started = performance.now();
      await groundTruth(ctx, user);
      sql.push(performance.now() - started);
    });
    const loop: number[] = [];
    await closedLoop(1, 20_000, plan.loopIterations, async () => {
      const started = performance.now();
      await perDialogCount(ctx, user);
      loop.push(performance.now() - started);
    });
    const p = summarize(parley);
    const g = summarize(sql);
    const l = summarize(loop);
    const n = dialogs.length;
    ctx.log(`  user ${user}: ${n} dialogs, ${truth} unread; parley answered wrong ${wrong}/${p.n} times`);
    const what = 'COUNT over messages, 1 SQL query';
    return [
      {
        metric: `notifications.dialogs.count p50 (user with ${n} dialogs)`,
        unit: 'ms',
        better: 'lower',
        parley: p.p50,
        baseline: { value: g.p50, what },
        note: `over WebSocket; ${wrong ? `${wrong} WRONG answers` : 'every answer equal to the ground truth'}`,
      },
      {
        metric: `notifications.dialogs.count p99 (user with ${n} dialogs)`,
        unit: 'ms',
        better: 'lower',
        parley: p.p99,
        baseline: { value: g.p99, what },
        reference: 1.1 * n,
        note: 'reference: 1.1 ms per dialog of the user',
      },
      {
        metric: 'unread count cost per dialog of the user (p50 / dialogs)',
        unit: 'ms',
        better: 'lower',
        parley: p.p50 / n,
        baseline: { value: l.p50 / n, what: 'one COUNT per dialog (old shape), SQL only' },
        reference: 1.1,
      },
    ];
  } finally {
    sock.close();
  }
}

/** partners each write into their dialogs with the user through their own sockets */
async function seed(ctx: BenchContext, plan: UnreadPlan) {
  const user = plan.firstUserId;
  const partners = Array.from({ length: plan.partners }, (_, i) => user + 1 + i);
  await ctx.admin.upsertUsers([user, ...partners]);
  const lists = partners.flatMap((p) => Array.from({ length: plan.dialogsPerPartner }, () => [user, p]));
  const dialogs = await ctx.admin.createDialogs(lists);
  const lastMessage = new Map<number, number>();
  const sockets: BenchSocket[] = [];
  try {
    for (const p of partners) sockets.push(await openSocket(await ctx.wsUrlFor(p)));
    await forEachLimited(partners, partners.length, async (_p, i) => {
      const mine = dialogs.slice(i * plan.dialogsPerPartner, (i + 1) * plan.dialogsPerPartner);
      for (const dialogId of mine) {
        for (let m = 0; m < plan.messagesPerDialog; m++) {
          const { frame } = await sockets[i]!.request('dialogs.messages.create', {
            dialog_id: dialogId,
            body: `unread seed ${m}`,
          });
          if (frame.exception) throw new Error(`seed create failed: ${JSON.stringify(frame.error)}`);
          lastMessage.set(dialogId, frame.data.id);
        }
      }
    });
  } finally {
    for (const s of sockets) s.close();
  }
  return { dialogs, lastMessage };
}

async function groundTruth(ctx: BenchContext, user: number): Promise<number> {
  const [rows] = (await ctx.db.query(GROUND_TRUTH, [user, user])) as unknown as [{ n: number }[]];
  return Number(rows[0]!.n);
}

async function perDialogCount(ctx: BenchContext, user: number): Promise<number> {
  const [dialogs] = (await ctx.db.query('SELECT dialog_id FROM dialog_members WHERE user_id = ?', [
    user,
  ])) as unknown as [{ dialog_id: number }[]];
  let unread = 0;
  for (const d of dialogs) {
    const [rows] = (await ctx.db.query(PER_DIALOG, [d.dialog_id, user])) as unknown as [{ n: number }[]];
    if (Number(rows[0]!.n) > 0) unread++;
  }
  return unread;
}
