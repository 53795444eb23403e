/**
 * (7) Open-loop rate ladder: `dialogs.messages.create` offered at rising rates (round robin over the
 * sender sockets of the two-person dialogs, receivers connected). For each rate: the answer latency of
 * the create (sender's `send` → answer) and the delivery latency (sender's `send` → the receiver's pushed
 * frame), p50/p99 over every message, what was lost, and the CPU each process spent per message (from
 * /proc). The figure: the highest offered rate at which both p99 stay ≤ the bound. The ladder stops at
 * the first rate past that point (a second failing rate only repeats the overload, and costs minutes).
 */
import type { BenchContext, Finding } from '../context.js';
import { perMessage } from '../cpu.js';
import { offerAtRate, sleep } from '../pacing.js';
import type { Pair } from '../pairs.js';
import { summarize } from '../stats.js';

export interface LadderPlan {
  /** offered rates, messages/s, ascending */
  rates: readonly number[];
  /** how long each rate is offered */
  stepMs: number;
  /** how long to wait for stragglers after a step's last send */
  drainMs: number;
  /** the p99 bound (ms) for both figures */
  p99BoundMs: number;
}

export interface LadderStep {
  offered: number;
  sent: number;
  achievedPerSec: number;
  answered: number;
  errors: number;
  delivered: number;
  createP50: number;
  createP99: number;
  deliveryP50: number;
  deliveryP99: number;
  ok: boolean;
  load: string;
  cpuMsPerMessage: Record<string, number>;
  cpuMsPerMessageSum: number;
}

export async function rateLadder(
  ctx: BenchContext,
  pairs: Pair[],
  plan: LadderPlan,
  loadNow: () => string,
): Promise<Finding[]> {
  const steps: LadderStep[] = [];
  let best = 0;
  for (const rate of plan.rates) {
    const load = loadNow();
    const { value: o, reading } = await ctx.cpuDuring(() => offer(pairs, rate, plan));
    const c = summarize(o.answers);
    const d = summarize(o.deliveries);
    const ok =
      o.errors === 0 &&
      d.n === o.sent &&
      c.n === o.sent &&
      c.p99 <= plan.p99BoundMs &&
      d.p99 <= plan.p99BoundMs;
    const perMsg = perMessage(reading, o.sent);
    const step: LadderStep = {
      offered: rate,
      sent: o.sent,
      achievedPerSec: (o.sent / o.ms) * 1000,
      answered: c.n,
      errors: o.errors,
      delivered: d.n,
      createP50: c.p50,
      createP99: c.p99,
      deliveryP50: d.p50,
      deliveryP99: d.p99,
      ok,
      load,
      cpuMsPerMessage: perMsg.by,
      cpuMsPerMessageSum: perMsg.sum,
    };
    steps.push(step);
    ctx.log(
      `  ${rate}/s offered (load ${load}): create p50 ${c.p50.toFixed(1)} p99 ${c.p99.toFixed(1)} ms; delivery p50 ${d.p50.toFixed(1)} p99 ${d.p99.toFixed(1)} ms; ${d.n}/${o.sent} delivered, ${o.errors} errors → ${ok ? 'ok' : 'OVER'}; ${perMsg.text}`,
    );
    if (!ok) break;
    best = rate;
  }
  ctx.extra.ladder = { p99BoundMs: plan.p99BoundMs, sockets: pairs.length * 2, steps, bestRate: best };
  const at = steps.find((s) => s.offered === best);
  return [
    {
      metric: `highest offered create rate with create and delivery p99 ≤ ${plan.p99BoundMs} ms (${pairs.length * 2} sockets)`,
      unit: 'msg/s',
      better: 'higher',
      parley: best,
      note: at
        ? `at ${best}/s: create p99 ${at.createP99.toFixed(1)} ms, delivery p99 ${at.deliveryP99.toFixed(1)} ms; ${at.cpuMsPerMessageSum.toFixed(2)} ms CPU per message (summed over processes); ladder ${steps.map((s) => `${s.offered}${s.ok ? '' : '✗'}`).join(' → ')}`
        : `not even ${plan.rates[0]}/s: ladder ${steps.map((s) => `${s.offered}✗`).join(' → ')}`,
    },
  ];
}

export interface Offered {
  answers: number[];
  deliveries: number[];
  sent: number;
  errors: number;
  ms: number;
}

export async function offer(
  pairs: Pair[],
  rate: number,
  plan: Pick<LadderPlan, 'stepMs' | 'drainMs'>,
  /** the start of every body (receivers match pushes to sends by body) */
  tag = `ladder ${rate}`,
): Promise<Offered> {
  const sentAt = new Map<string, number>();
  // BENCH_SLOW=<ms>: the deliveries slower than this, with the create answer's time: which hop stalled
  const slowMs = Number(process.env.BENCH_SLOW) || Number.POSITIVE_INFINITY;
  const slow: { body: string; sentMs: number; deliveryMs: number; seq: unknown }[] = [];
  const answerOf = new Map<string, number>();
  const start = performance.now();
  const answers: number[] = [];
  const deliveries: number[] = [];
  let errors = 0;
  for (const p of pairs) {
    p.receiver.onPush((frame, at) => {
      if (frame.event !== 'dialogs.messages.create') return;
      const t0 = sentAt.get(frame.data?.markdown_body);
      if (t0 === undefined) return;
      sentAt.delete(frame.data.markdown_body);
      deliveries.push(at - t0);
      if (at - t0 > slowMs)
        slow.push({
          body: frame.data.markdown_body,
          sentMs: t0 - start,
          deliveryMs: at - t0,
          seq: frame.seq,
        });
    });
  }
  const pending: Promise<void>[] = [];
  const total = Math.ceil((rate * plan.stepMs) / 1000);
  const run = await offerAtRate(rate, total, plan.stepMs + 2_000, (k) => {
    const p = pairs[k % pairs.length]!;
    const body = `${tag} ${k}`;
    sentAt.set(body, performance.now());
    pending.push(
      p.sender
        .request('dialogs.messages.create', { dialog_id: p.dialogId, body }, plan.stepMs + plan.drainMs)
        .then(({ frame, ms }) => {
          if (frame.exception) errors++;
          else answers.push(ms);
          if (slowMs < Number.POSITIVE_INFINITY) answerOf.set(body, ms);
        }),
    );
  });
  const deadline = performance.now() + plan.drainMs;
  while (sentAt.size > 0 && performance.now() < deadline) await sleep(20);
  await Promise.all(pending);
  for (const p of pairs) p.receiver.onPush(() => undefined);
  if (slow.length) {
    const shown = slow.slice(0, 40).map((d) => ({ ...d, answerMs: answerOf.get(d.body) }));
    console.log(`  deliveries over ${slowMs} ms: ${slow.length}; the first: ${JSON.stringify(shown)}`);
  }
  return { answers, deliveries, sent: run.sent, errors, ms: run.ms };
}
