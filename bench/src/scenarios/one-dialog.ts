/**
 * (12) Many writers in one dialog (a support team's shared dialog): `dialogs.messages.create` in a
 * closed loop from `writers` sockets, half of them one member's and half the other's, all into one
 * two-person dialog, so every create waits for the dialog's row lock (messages of a dialog are numbered
 * in commit order). A gateway answers one frame of a socket at a time, so the writers are separate
 * sockets. Baseline in the same phase: the same closed loop from as many sockets into as many
 * dialogs (one each: no lock shared). Every message is pushed to the other sockets of both members
 * (2 × writers − 1 frames), so the one-dialog loop also costs the gateway more writes.
 *
 * Then the dialog's write path alone, without that fan-out: `writers` creates in flight over the bus
 * straight to the dialogs service (no socket of the members open), into the one dialog and, as its
 * baseline, into a dialog each.
 */
import { createRpcClient } from '@parley/bus';
import { subjects } from '@parley/protocol';
import type { BenchContext, Finding } from '../context.js';
import { closedLoop } from '../pacing.js';
import type { Pair } from '../pairs.js';
import { type BenchSocket, openSocket } from '../socket.js';
import { closedLoopCreates } from './create-throughput.js';

export interface OneDialogPlan {
  /** writer sockets (≤ 2 × the gateway's MAX_SOCKETS_PER_USER) */
  writers: number;
  ms: number;
  maxOps: number;
  /** the dialog's two members */
  firstUserId: number;
}

export async function oneDialog(ctx: BenchContext, pairs: Pair[], plan: OneDialogPlan): Promise<Finding[]> {
  const users = [plan.firstUserId, plan.firstUserId + 1];
  await ctx.admin.upsertUsers(users);
  const [dialogId] = await ctx.admin.createDialogs([users]);
  const sockets: BenchSocket[] = [];
  try {
    for (let i = 0; i < plan.writers; i++) {
      sockets.push(await openSocket(await ctx.wsUrlFor(users[i % 2] as number)));
    }
    const spread = await closedLoopCreates(ctx, pairs.slice(0, plan.writers), plan);
    ctx.log(`  ${plan.writers} writers, one dialog each: ${spread.perSec.toFixed(0)}/s`);

    const run = await closedLoopCreates(
      ctx,
      sockets.map((sender) => ({ sender, dialogId: dialogId as number })),
      plan,
      'one dialog',
    );
    ctx.log(`  ${plan.writers} writers, one dialog: ${run.perSec.toFixed(0)}/s, ${run.errors} errors`);
    ctx.extra.oneDialog = {
      writers: plan.writers,
      perSec: run.perSec,
      p50: run.p50,
      p99: run.p99,
      errors: run.errors,
      spread: { perSec: spread.perSec, p50: spread.p50, p99: spread.p99 },
      ratioToSpread: run.perSec / spread.perSec,
      cpuMsPerMessage: run.cpuMsPerMessage,
    };
    const what = `${plan.writers} writers, a dialog each`;
    return [
      {
        metric: `messages.create into one dialog, ${plan.writers} writers (closed loop)`,
        unit: 'msg/s',
        better: 'higher',
        parley: run.perSec,
        baseline: { value: spread.perSec, what },
        note: `${run.errors} error answers; p50 ${run.p50.toFixed(1)} / p99 ${run.p99.toFixed(1)} ms (spread: ${spread.p50.toFixed(1)} / ${spread.p99.toFixed(1)}); ${run.cpu}; ${run.cpuPerMessage}`,
      },
    ];
  } finally {
    for (const s of sockets) s.close();
  }
}

/** `writers` creates in flight over the bus into `dialogIds[i % n]`, closed loop: messages/s */
async function busCreates(
  ctx: BenchContext,
  plan: OneDialogPlan,
  writes: { userId: number; dialogId: number }[],
): Promise<{ perSec: number; errors: number }> {
  const rpc = createRpcClient(ctx.nc, subjects(ctx.sys.prefix), { timeoutMs: 10_000 });
  let errors = 0;
  let n = 0;
  const { done, ms } = await closedLoop(plan.writers, plan.ms, plan.maxOps, async (w) => {
    const { userId, dialogId } = writes[w % writes.length] as { userId: number; dialogId: number };
    n++;
    await rpc
      .request('dialogs.messages.create', {
        caller: { user_id: userId, conn_id: `cbench${w}` },
        params: { dialog_id: dialogId, body: `bus ${n}` } as { dialog_id: number },
      })
      .catch(() => {
        errors++;
      });
  });
  return { perSec: (done / ms) * 1000, errors };
}

/** the write path alone: one dialog against a dialog each, over the bus, no sockets to push to */
export async function oneDialogWritePath(ctx: BenchContext, plan: OneDialogPlan): Promise<Finding[]> {
  const first = plan.firstUserId + 2;
  const users = Array.from({ length: plan.writers * 2 + 2 }, (_, i) => first + i);
  const pair = users.slice(plan.writers * 2) as [number, number];
  await ctx.admin.upsertUsers(users);
  const spreadIds = await ctx.admin.createDialogs(
    Array.from({ length: plan.writers }, (_, i) => [users[2 * i] as number, users[2 * i + 1] as number]),
  );
  const [oneId] = await ctx.admin.createDialogs([pair]);
  const spread = await busCreates(
    ctx,
    plan,
    spreadIds.map((dialogId, i) => ({ userId: users[2 * i] as number, dialogId: dialogId as number })),
  );
  const one = await busCreates(
    ctx,
    plan,
    pair.map((userId) => ({ userId, dialogId: oneId as number })),
  );
  ctx.log(
    `  write path alone (${plan.writers} in flight over the bus, no sockets): one dialog ${one.perSec.toFixed(0)}/s, a dialog each ${spread.perSec.toFixed(0)}/s`,
  );
  ctx.extra.oneDialogWritePath = { writers: plan.writers, perSec: one.perSec, spreadPerSec: spread.perSec };
  return [
    {
      metric: `messages.create into one dialog, ${plan.writers} in flight over the bus (write path alone)`,
      unit: 'msg/s',
      better: 'higher',
      parley: one.perSec,
      baseline: { value: spread.perSec, what: `${plan.writers} in flight, a dialog each` },
      note: `${one.errors + spread.errors} error answers; no member socket open: no fan-out`,
    },
  ];
}
