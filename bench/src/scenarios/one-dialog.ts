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
import { perMessage } from '../cpu.js';
import { closedLoop } from '../pacing.js';
import type { Pair } from '../pairs.js';
import { type BenchSocket, openSocket } from '../socket.js';
import { summarize } from '../stats.js';
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

    const latencies: number[] = [];
    let errors = 0;
    let seq = 0;
    const {
      value: run,
      cpu,
      reading,
    } = await ctx.cpuDuring(() =>
      closedLoop(plan.writers, plan.ms, plan.maxOps, async (w) => {
        const { frame, ms } = await (sockets[w] as BenchSocket).request('dialogs.messages.create', {
          dialog_id: dialogId,
          body: `one dialog ${++seq}`,
        });
        if (frame.exception) errors++;
        else latencies.push(ms);
      }),
    );
    const s = summarize(latencies);
    const perSec = (latencies.length / run.ms) * 1000;
    const perMsg = perMessage(reading, latencies.length);
    ctx.log(
      `  ${plan.writers} writers, one dialog: ${perSec.toFixed(0)}/s, ${errors} errors; ${perMsg.text}`,
    );
    ctx.extra.oneDialog = {
      writers: plan.writers,
      perSec,
      p50: s.p50,
      p99: s.p99,
      errors,
      spread: { perSec: spread.perSec, p50: spread.p50, p99: spread.p99 },
      ratioToSpread: perSec / spread.perSec,
      cpuMsPerMessage: perMsg.by,
    };
    const what = `${plan.writers} writers, a dialog each`;
    return [
      {
        metric: `messages.create into one dialog, ${plan.writers} writers (closed loop)`,
        unit: 'msg/s',
        better: 'higher',
        parley: perSec,
        baseline: { value: spread.perSec, what },
        note: `${errors} error answers; p50 ${s.p50.toFixed(1)} / p99 ${s.p99.toFixed(1)} ms (spread: ${spread.p50.toFixed(1)} / ${spread.p99.toFixed(1)}); ${cpu}`,
      },
    ];
  } finally {
    for (const s of sockets) s.close();
  }
}
