/**
 * (2) Delivery latency: messages offered at a fixed rate (open loop, round robin over the senders); the
 * clock runs from the sender's `send` to the receiver's pushed `dialogs.messages.create` frame (matched by
 * its body), through gateway → dialogs (DB + outbox) → JetStream → notifier → push subject → gateway.
 * Baseline in the same run: the floor server's socket → NATS publish → socket relay, same rate, same
 * number of socket pairs, same client.
 */
import { freePort } from '@parley/testing';
import type { BenchContext, Finding } from '../context.js';
import { offerAtRate, sleep } from '../pacing.js';
import type { Pair } from '../pairs.js';
import { startChild } from '../processes.js';
import { type BenchSocket, openSocket, waitListening } from '../socket.js';
import { summarize } from '../stats.js';
import { offer } from './rate-ladder.js';

export interface DeliveryPlan {
  perSec: number;
  ms: number;
  /** how long to wait for stragglers after the last send */
  drainMs: number;
  floorScript: string;
}

interface Outcome {
  latencies: number[];
  sent: number;
  errors: number;
}

export async function deliveryLatency(
  ctx: BenchContext,
  pairs: Pair[],
  plan: DeliveryPlan,
): Promise<Finding[]> {
  const { value: parley, cpu } = await ctx.cpuDuring(() => measureParley(pairs, plan));
  ctx.log(
    `  parley delivery: ${parley.latencies.length}/${parley.sent} delivered, ${parley.errors} error answers`,
  );
  const floor = await measureFloor(ctx, pairs.length, plan);
  ctx.log(`  floor relay: ${floor.latencies.length}/${floor.sent} delivered`);
  const p = summarize(parley.latencies);
  const f = summarize(floor.latencies);
  const what = 'bare ws → NATS → ws relay';
  const lost = parley.sent - parley.latencies.length;
  return [
    {
      metric: `delivery latency p50 at ${plan.perSec}/s offered`,
      unit: 'ms',
      better: 'lower',
      parley: p.p50,
      baseline: { value: f.p50, what },
    },
    {
      metric: `delivery latency p99 at ${plan.perSec}/s offered`,
      unit: 'ms',
      better: 'lower',
      parley: p.p99,
      baseline: { value: f.p99, what },
      reference: 360,
      note: `${p.n} of ${parley.sent} delivered${lost ? `, ${lost} NOT delivered within ${plan.drainMs} ms` : ''}; max ${p.max.toFixed(1)} ms; ${cpu}`,
    },
  ];
}

/** the ladder's open-loop offer at one rate, for `plan.ms` (one tag per phase keeps bodies apart) */
async function measureParley(pairs: Pair[], plan: DeliveryPlan): Promise<Outcome> {
  const o = await offer(pairs, plan.perSec, { stepMs: plan.ms, drainMs: plan.drainMs }, 'delivery');
  return { latencies: o.deliveries, sent: o.sent, errors: o.errors };
}

async function measureFloor(ctx: BenchContext, pairCount: number, plan: DeliveryPlan): Promise<Outcome> {
  const port = await freePort();
  const child = startChild('floor-relay', plan.floorScript, {}, [String(port), ctx.natsUrl, ctx.sys.prefix]);
  const sockets: BenchSocket[] = [];
  try {
    await waitListening(`ws://127.0.0.1:${port}/?u=0`);
    const open = async (u: number) => {
      const s = await openSocket(`ws://127.0.0.1:${port}/?u=${u}`);
      sockets.push(s);
      return s;
    };
    const senders: BenchSocket[] = [];
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    for (let i = 0; i < pairCount; i++) {
      senders.push(await open(2 * i));
      const receiver = await open(2 * i + 1);
      receiver.onPush((frame, at) => {
        const t0 = sentAt.get(frame.body);
        if (t0 === undefined) return;
        sentAt.delete(frame.body);
        latencies.push(at - t0);
      });
    }
    await sleep(200); // subscriptions reach the server
    const total = Math.ceil((plan.perSec * plan.ms) / 1000);
    const { sent } = await offerAtRate(plan.perSec, total, plan.ms + 2_000, (k) => {
      const i = k % pairCount;
      const body = `floor ${k}`;
      sentAt.set(body, performance.now());
      senders[i]!.send({ to: 2 * i + 1, event: 'dialogs.messages.create', body });
    });
    await waitUntil(() => sentAt.size === 0, plan.drainMs);
    return { latencies, sent, errors: 0 };
  } finally {
    for (const s of sockets) s.close();
    await child.stop();
  }
}

async function waitUntil(done: () => boolean, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (!done() && performance.now() < deadline) await sleep(20);
}
