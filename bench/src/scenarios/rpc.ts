/**
 * (5) One Parley RPC against raw NATS request/reply, sequential (one in flight): `notifications.dialogs.count`
 * straight to the dialogs service over its bus client (validation, a DB read, the reply envelope) next to
 * an echo responder in its own process. Shows what dialogs adds on top of the bus.
 */
import { createRpcClient } from '@parley/bus';
import { subjects } from '@parley/protocol';
import type { BenchContext, Finding } from '../context.js';
import { closedLoop, sleep } from '../pacing.js';
import { startChild } from '../processes.js';
import { summarize } from '../stats.js';

export interface RpcPlan {
  iterations: number;
  userId: number;
  echoScript: string;
}

export async function rpcRoundTrip(ctx: BenchContext, plan: RpcPlan): Promise<Finding[]> {
  const rpc = createRpcClient(ctx.nc, subjects(ctx.sys.prefix), { timeoutMs: 5_000 });
  const payload = { caller: { user_id: plan.userId, conn_id: 'cbench' }, params: {} };
  const parley: number[] = [];
  await closedLoop(1, 20_000, plan.iterations, async () => {
    const started = performance.now();
    await rpc.request('notifications.dialogs.count', payload);
    parley.push(performance.now() - started);
  });

  const subject = `${ctx.sys.prefix}.bench.echo`;
  const echo = startChild('nats-echo', plan.echoScript, {}, [ctx.natsUrl, subject]);
  const raw: number[] = [];
  try {
    await waitResponder(ctx, subject);
    const bytes = new TextEncoder().encode(JSON.stringify(payload));
    await closedLoop(1, 20_000, plan.iterations, async () => {
      const started = performance.now();
      await ctx.nc.request(subject, bytes, { timeout: 5_000 });
      raw.push(performance.now() - started);
    });
  } finally {
    await echo.stop();
  }
  const p = summarize(parley);
  const r = summarize(raw);
  const what = 'raw NATS request/reply (echo)';
  return [
    {
      metric: 'RPC notifications.dialogs.count p50 (bus)',
      unit: 'ms',
      better: 'lower',
      parley: p.p50,
      baseline: { value: r.p50, what },
    },
    {
      metric: 'RPC notifications.dialogs.count p99 (bus)',
      unit: 'ms',
      better: 'lower',
      parley: p.p99,
      baseline: { value: r.p99, what },
    },
  ];
}

async function waitResponder(ctx: BenchContext, subject: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await ctx.nc.request(subject, new Uint8Array(), { timeout: 500 });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('the echo responder did not answer');
}
