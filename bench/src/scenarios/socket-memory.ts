/**
 * (3) Memory per idle socket. A gateway instance of its own (same prefix, started with `--inspect`) and a
 * bare `ws` server child (the baseline, same sockets from the same client) each get: a warm-up batch,
 * a forced full GC, VmRSS and V8 heap readings; then N sockets, a settle pause, a forced full GC, the
 * readings again. Per socket = delta / N. The gateway's sockets are authenticated users: each upgrade
 * verifies a JWT, upserts the profile through dialogs, joins the hub and presence. With `heapDir`, each
 * server's heap is also written as a snapshot after each reading (`<server>-before.heapsnapshot`,
 * `<server>-after.heapsnapshot`; compare them with bench/heap-diff.mjs).
 */
import { join } from 'node:path';
import { freePort } from '@parley/testing';
import type { BenchContext, Finding } from '../context.js';
import { connectInspector, type Inspector } from '../inspector.js';
import { forEachLimited, sleep } from '../pacing.js';
import { type Child, startChild } from '../processes.js';
import { type BenchSocket, openSocket, waitListening } from '../socket.js';

export interface MemoryPlan {
  sockets: number;
  warmup: number;
  settleMs: number;
  firstUserId: number;
  floorScript: string;
  /** write heap snapshots here (BENCH_HEAP_DIR) */
  heapDir?: string | undefined;
}

interface PerSocket {
  rssKib: number;
  heapKib: number;
  /** memory outside the V8 heap that V8 knows of (Buffers' bytes and the like), per socket */
  externalKib: number;
  /** V8 heap committed (heapTotal: used and free space of its pages), per socket */
  committedKib: number;
  opened: number;
  openMs: number;
}

export async function socketMemory(ctx: BenchContext, plan: MemoryPlan): Promise<Finding[]> {
  const ids = Array.from({ length: plan.sockets + plan.warmup }, (_, i) => plan.firstUserId + i);
  const tokens = await Promise.all(ids.map((id) => ctx.mint(id)));

  const gwInspect = await freePort();
  const gw = await ctx.sys.startExtraGateway([`--inspect=127.0.0.1:${gwInspect}`]);
  let g: PerSocket;
  try {
    g = await measure(gw.child, gwInspect, (i) => `${gw.wsUrl}?token=${tokens[i]}`, plan, 'gateway');
  } finally {
    await gw.child.stop();
  }
  ctx.log(`  gateway: ${fmt(g)} (${g.opened} sockets in ${(g.openMs / 1000).toFixed(1)} s)`);

  const port = await freePort();
  const floorInspect = await freePort();
  const floor = startChild(
    'floor-ws',
    plan.floorScript,
    {},
    [String(port)],
    [`--inspect=127.0.0.1:${floorInspect}`],
  );
  let b: PerSocket;
  try {
    await waitListening(`ws://127.0.0.1:${port}/`);
    b = await measure(floor, floorInspect, () => `ws://127.0.0.1:${port}/`, plan, 'floor');
  } finally {
    await floor.stop();
  }
  ctx.log(`  bare ws: ${fmt(b)}`);
  const what = 'bare ws server, same sockets';
  return [
    {
      metric: `memory per idle socket, RSS delta over ${plan.sockets} (after full GC)`,
      unit: 'KiB',
      better: 'lower',
      parley: g.rssKib,
      baseline: { value: b.rssKib, what },
      reference: 41,
      note: `gateway opened ${g.opened} authenticated sockets at ${((g.opened / g.openMs) * 1000).toFixed(0)}/s`,
    },
    {
      metric: 'memory per idle socket, retained V8 heap (after full GC)',
      unit: 'KiB',
      better: 'lower',
      parley: g.heapKib,
      baseline: { value: b.heapKib, what },
    },
  ];
}

const fmt = (m: PerSocket) =>
  `${m.rssKib.toFixed(1)} KiB RSS, ${m.heapKib.toFixed(1)} KiB heap (${m.committedKib.toFixed(1)} KiB committed), ${m.externalKib.toFixed(2)} KiB external per socket`;

async function measure(
  server: Child,
  inspectPort: number,
  urlOf: (i: number) => string,
  plan: MemoryPlan,
  name: string,
): Promise<PerSocket> {
  const inspector = await connectInspector(inspectPort);
  const connect = async (from: number, count: number, into: BenchSocket[]) => {
    const idx = Array.from({ length: count }, (_, i) => from + i);
    await forEachLimited(idx, 32, async (i) => {
      into.push(await openSocket(urlOf(i)));
    });
  };
  const sockets: BenchSocket[] = [];
  try {
    const warm: BenchSocket[] = [];
    await connect(plan.sockets, plan.warmup, warm);
    for (const s of warm) s.close();
    await sleep(plan.settleMs);
    const before = await reading(server, inspector);
    if (plan.heapDir) await inspector.takeHeapSnapshot(join(plan.heapDir, `${name}-before.heapsnapshot`));
    const started = performance.now();
    await connect(0, plan.sockets, sockets);
    const openMs = performance.now() - started;
    await sleep(plan.settleMs);
    const after = await reading(server, inspector);
    if (plan.heapDir) await inspector.takeHeapSnapshot(join(plan.heapDir, `${name}-after.heapsnapshot`));
    return {
      rssKib: (after.rssKib - before.rssKib) / sockets.length,
      heapKib: (after.heapKib - before.heapKib) / sockets.length,
      externalKib: (after.externalKib - before.externalKib) / sockets.length,
      committedKib: (after.committedKib - before.committedKib) / sockets.length,
      opened: sockets.length,
      openMs,
    };
  } finally {
    for (const s of sockets) s.close();
    inspector.close();
  }
}

/** after a forced full GC: VmRSS (median of three, 200 ms apart), the V8 heap in use, external memory */
async function reading(
  server: Child,
  inspector: Inspector,
): Promise<{ rssKib: number; heapKib: number; externalKib: number; committedKib: number }> {
  await inspector.collectGarbage();
  const heapKib = (await inspector.heapUsed()) / 1024;
  const usage = await inspector.memoryUsage();
  const externalKib = usage.external / 1024;
  const committedKib = usage.heapTotal / 1024;
  const reads: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(200);
    reads.push(server.rssKb());
  }
  return { rssKib: reads.sort((x, y) => x - y)[1]!, heapKib, externalKib, committedKib };
}
