/**
 * (12) Many writers in one dialog (a support team's shared dialog): `dialogs.messages.create` in a
 * closed loop from `writers` sockets, half of them one member's and half the other's, all into one
 * two-person dialog, so every create waits for the dialog's row lock (messages of a dialog are numbered
 * in commit order). A gateway answers one frame of a socket at a time, so the writers are separate
 * sockets. Baseline in the same phase: the same closed loop from as many sockets into as many
 * dialogs (one each: no lock shared). Every message is pushed to the other sockets of both members
 * (2 × writers − 1 frames), so the one-dialog loop also costs the gateway more writes.
 */
import type { BenchContext, Finding } from '../context.js';
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
