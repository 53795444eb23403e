/**
 * (9) How the notifier's work splits over two instances (issue 12): the same open-loop rate over every
 * pair, first with the one notifier, then with a second one started beside it (the running instances
 * share the 16 user partitions out). Printed: the frames each instance appended (from their /metrics)
 * and each notifier process's CPU per frame it appended, next to the single instance's. Afterwards the
 * second instance stops and the first holds every partition again.
 */
import type { BenchContext, Finding } from '../context.js';
import { perMessage } from '../cpu.js';
import { sleep } from '../pacing.js';
import type { Pair } from '../pairs.js';
import { offer } from './rate-ladder.js';

export interface ScalePlan {
  rate: number;
  stepMs: number;
  drainMs: number;
}

/** a Prometheus text value: the sum of every sample of `name` */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export async function notifierScale(ctx: BenchContext, pairs: Pair[], plan: ScalePlan): Promise<Finding[]> {
  const first = ctx.sys.notifierMetricsUrl;
  const frames = 'parley_notifier_frames_total';
  const partitions = 'parley_notifier_partitions';
  const run = async (label: string, urls: string[]) => {
    const before = await Promise.all(urls.map((u) => metric(u, frames)));
    const { value, reading } = await ctx.cpuDuring(() => offer(pairs, plan.rate, plan));
    const after = await Promise.all(urls.map((u) => metric(u, frames)));
    const appended = after.map((a, i) => a - (before[i] ?? 0));
    const cpu = { ...perMessage(reading, value.deliveries.length), ms: reading.msBy };
    ctx.log(
      `  ${label}: ${value.sent} sent, ${value.deliveries.length} delivered, frames appended per notifier ${appended.join(' / ')}`,
    );
    return { value, appended, cpu };
  };

  const one = await run(`one notifier at ${plan.rate}/s`, [first]);
  const extra = await ctx.sys.startExtraNotifier();
  try {
    await until('the partitions shared 8 and 8', async () => {
      const held = await Promise.all([first, extra.metricsUrl].map((u) => metric(u, partitions)));
      return held[0] === 8 && held[1] === 8;
    });
    const two = await run(`two notifiers at ${plan.rate}/s`, [first, extra.metricsUrl]);
    const total = two.appended.reduce((a, b) => a + b, 0);
    const shares = two.appended.map((n) => (total ? (100 * n) / total : 0));
    // the notifier's work is the frames it appends: CPU per frame compares instances whatever the load
    const usPerFrame = (ms: number | undefined, n: number | undefined) =>
      ms === undefined || !n ? Number.NaN : (1000 * ms) / n;
    const cpuOne = usPerFrame(one.cpu.ms.notifier, one.appended[0]);
    const cpuTwo = [
      usPerFrame(two.cpu.ms.notifier, two.appended[0]),
      usPerFrame(two.cpu.ms['notifier-2'], two.appended[1]),
    ];
    const line = `notifier split with two instances: frames ${shares.map((s) => `${s.toFixed(0)} %`).join(' / ')} (${two.appended.join(' / ')}); notifier CPU per frame appended: one instance ${cpuOne.toFixed(0)} µs, two instances ${cpuTwo.map((c) => c.toFixed(0)).join(' / ')} µs`;
    ctx.log(`  ${line}`);
    ctx.extra.notifierScale = {
      rate: plan.rate,
      one: { appended: one.appended, cpuMsPerMessage: one.cpu.by },
      two: { appended: two.appended, shares, cpuMsPerMessage: two.cpu.by },
    };
    return [
      {
        metric: `notifier frames appended by the busier of two instances (${plan.rate}/s)`,
        unit: '%',
        better: 'lower',
        parley: Math.max(...shares),
        baseline: { value: 100, what: 'one instance does all' },
        note: line,
      },
      {
        metric: `notifier CPU per frame appended, the costlier of two instances (${plan.rate}/s)`,
        unit: 'µs',
        better: 'lower',
        parley: Math.max(...cpuTwo),
        baseline: { value: cpuOne, what: 'one instance, same rate, same run' },
      },
    ];
  } finally {
    await extra.stop();
    await until(
      'the first notifier to hold every partition again',
      async () => (await metric(first, partitions)) === 16,
    );
  }
}
