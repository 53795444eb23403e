/**
 * What the services cost with nobody writing: the pairs' sockets open (200), no traffic, for `ms` after
 * `settleMs`. Heartbeats, polls, lease renewals and timers are all that runs; printed as % of one core
 * per process and carried in the JSON line (`idle`), no table row: there is no baseline to hold it to.
 */
import type { BenchContext } from '../context.js';
import { sleep } from '../pacing.js';

export interface IdlePlan {
  settleMs: number;
  ms: number;
}

export async function idleCost(ctx: BenchContext, plan: IdlePlan): Promise<void> {
  await sleep(plan.settleMs);
  const { reading } = await ctx.cpuDuring(() => sleep(plan.ms));
  const percent = Object.fromEntries(
    Object.entries(reading.msBy).map(([name, ms]) => [
      name,
      Math.round((ms / reading.wallMs) * 10_000) / 100,
    ]),
  );
  ctx.extra.idle = { ms: reading.wallMs, percentOfOneCore: percent };
}
