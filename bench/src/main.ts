/**
 * `npm run bench`: start the real services as child processes, measure them and a baseline for each
 * figure in the same run, print the table, clean up everything this run created. Bounded: every loop
 * ends by count and time, and the whole run is aborted (with cleanup) after plan.deadlineMs.
 */

import { createPool, type Pool } from 'mysql2/promise';
import { connect, type NatsConnection } from 'nats';
import type { BenchContext, Finding } from './context.js';
import { startCpuMeter } from './cpu.js';
import { loadNow, machineFacts } from './machine.js';
import { closePairs, openPairs, type Pair } from './pairs.js';
import { plan } from './plan.js';
import { stopAllChildren } from './processes.js';
import { LEGEND, renderTable } from './report.js';
import { awaitingQueue } from './scenarios/awaiting-queue.js';
import { createThroughput } from './scenarios/create-throughput.js';
import { deliveryLatency } from './scenarios/delivery.js';
import { feedCost } from './scenarios/feed-cost.js';
import { feedReplay } from './scenarios/feed-replay.js';
import { historyDepth } from './scenarios/history-depth.js';
import { idleCost } from './scenarios/idle.js';
import { notifierScale } from './scenarios/notifier-scale.js';
import { oneDialog, oneDialogWritePath } from './scenarios/one-dialog.js';
import { rateLadder } from './scenarios/rate-ladder.js';
import { rpcRoundTrip } from './scenarios/rpc.js';
import { socketMemory } from './scenarios/socket-memory.js';
import { unreadCount } from './scenarios/unread-count.js';
import { adminClient, tokenMinter } from './seed.js';
import { type System, startSystem } from './system.js';
import { warmUp } from './warmup.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

function loopbackUrl(raw: string, name: string): URL {
  const u = new URL(raw);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
    throw new Error(`${name} must point at this machine (127.0.0.1), got ${u.hostname}`);
  }
  return u;
}

const mysqlUrl = loopbackUrl(process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306', 'MYSQL_URL');
mysqlUrl.pathname = '';
const mysqlServer = mysqlUrl.toString().replace(/\/$/, '');
const natsUrl = loopbackUrl(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 'NATS_URL')
  .toString()
  .replace(/\/$/, '');

/** BENCH_SERVICE_ENV="DB_GROUP_COMMIT_MAX=1 X=y": extra env of every service (a setting tried against the default) */
const serviceEnv = process.env.BENCH_SERVICE_ENV
  ? Object.fromEntries(
      process.env.BENCH_SERVICE_ENV.trim()
        .split(/\s+/)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    )
  : undefined;
/** BENCH_ONLY=create,ladder runs only those phases (warm-up always runs); names as in `phases` below */
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
const wanted = (phase: string) => !only || only.has(phase);

let sys: System | undefined;
let nc: NatsConnection | undefined;
let db: Pool | undefined;
let pairs: Pair[] = [];
let cleaning: Promise<void> | undefined;

const cleanup = () =>
  (cleaning ??= (async () => {
    closePairs(pairs);
    await db?.end().catch(() => undefined);
    await stopAllChildren();
    if (sys) for (const note of await sys.teardown(nc ?? null)) log(`cleanup: ${note}`);
    await nc?.close().catch(() => undefined);
  })());

const abort = (why: string) => {
  log(`\naborting: ${why}`);
  void cleanup().finally(() => process.exit(2));
};
process.once('SIGTERM', () => abort('SIGTERM'));
process.once('SIGINT', () => abort('SIGINT'));
setTimeout(() => abort(`the run passed its ${plan.deadlineMs / 1000} s deadline`), plan.deadlineMs).unref();

const started = performance.now();
const findings: Finding[] = [];
const extra: Record<string, unknown> = { loadBefore: loadNow() };
const failures: string[] = [];
try {
  nc = await connect({ servers: natsUrl, name: 'parley-bench' });
  log('Parley benchmark — starting gateway, dialogs, notifier, mailer as child processes…');
  sys = await startSystem({
    mysqlServer,
    natsUrl,
    gatewayEnv: plan.gatewayEnv,
    ...(serviceEnv ? { serviceEnv } : {}),
    servicesRoot: process.env.BENCH_SERVICES_ROOT || undefined,
    cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
  });
  const system = sys;
  db = createPool({ uri: `${mysqlServer}/${sys.dbName}`, connectionLimit: 16 });
  const facts = await machineFacts(db, nc);
  for (const f of facts) log(f);
  log(
    `services: ${sys.children.map((c) => `${c.name} pid ${c.pid}`).join(', ')}; prefix ${sys.prefix}, db ${sys.dbName}`,
  );

  const mint = tokenMinter(sys.jwtSecret);
  const ctx: BenchContext = {
    sys,
    admin: adminClient(sys.baseUrl, sys.adminToken),
    mint,
    nc,
    natsUrl,
    db,
    wsUrlFor: async (userId) => `${system.wsUrl}?token=${await mint(userId)}`,
    log,
    async cpuDuring(run) {
      const meter = startCpuMeter(system.children, Number(new URL(natsUrl).port || 4222));
      const value = await run();
      const reading = meter.stop();
      log(`  ${reading.text}`);
      return { value, cpu: reading.text, reading };
    },
    extra,
  };
  const step = async (name: string, run: () => Promise<Finding[]>) => {
    log(`\n[${((performance.now() - started) / 1000).toFixed(0)} s] ${name} (load ${loadNow()})`);
    try {
      findings.push(...(await run()));
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      log(`  FAILED: ${err instanceof Error ? err.message : String(err)}`);
      const dead = system.children.filter((c) => c.exited());
      for (const c of dead) log(`  ${c.name} exited:\n${c.tail()}`);
      if (dead.length) throw new Error('a service died');
    }
  };

  const memoryPlan = {
    ...plan.memory,
    sockets: Number(process.env.BENCH_MEMORY_SOCKETS) || plan.memory.sockets,
    heapDir: process.env.BENCH_HEAP_DIR || undefined,
  };
  if (wanted('memory')) await step('memory per idle socket', () => socketMemory(ctx, memoryPlan));
  await step('warm-up', async () => {
    pairs = await openPairs(ctx, plan.pairs.firstUserId, plan.pairs.count);
    await warmUp(ctx, pairs, plan.warmup.creates);
    return [];
  });
  if (pairs.length) {
    if (wanted('idle'))
      await step('idle: sockets open, no traffic', async () => {
        await idleCost(ctx, plan.idle);
        return [];
      });
    const closed = pairs.slice(0, plan.create.sockets);
    if (wanted('create')) await step('create throughput', () => createThroughput(ctx, closed, plan.create));
    if (wanted('onedialog'))
      await step('many writers in one dialog', async () => [
        ...(await oneDialog(ctx, pairs, plan.oneDialog)),
        ...(await oneDialogWritePath(ctx, plan.oneDialog)),
      ]);
    if (wanted('feedcost'))
      await step('create throughput with and without the feed', () => feedCost(ctx, closed, plan.feedCost));
    if (wanted('ladder'))
      await step('open-loop rate ladder', () => rateLadder(ctx, pairs, plan.ladder, loadNow));
    if (wanted('delivery')) await step('delivery latency', () => deliveryLatency(ctx, closed, plan.delivery));
    if (wanted('scale'))
      await step('the notifier on two instances', () => notifierScale(ctx, pairs, plan.scale));
    const resumed = pairs[0];
    if (resumed && wanted('feed'))
      await step('resume after missed pushes', () => feedReplay(ctx, resumed, plan.feed));
  }
  closePairs(pairs);
  if (wanted('unread')) await step('unread count', () => unreadCount(ctx, plan.unread));
  if (wanted('rpc'))
    await step('rpc round trip', () => rpcRoundTrip(ctx, { ...plan.rpc, userId: plan.unread.firstUserId }));
  if (wanted('history')) await step('history depth', () => historyDepth(ctx, plan.history));
  if (wanted('queue')) await step("reviewer's queue", () => awaitingQueue(ctx, plan.awaiting));
} catch (err) {
  failures.push(err instanceof Error ? err.message : String(err));
}
log(`\nload average after: ${loadNow()}; run took ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
if (findings.length) log(`${renderTable(findings)}\n\n${LEGEND}\n`);
// every figure on one line, for scripts and for comparing runs
log(
  `BENCH_JSON ${JSON.stringify({
    ...extra,
    loadAfter: loadNow(),
    seconds: (performance.now() - started) / 1000,
    servicesRoot: process.env.BENCH_SERVICES_ROOT || 'this repository',
    serviceEnv: serviceEnv ?? {},
    findings,
    failures,
  })}`,
);
for (const f of failures) log(`FAILED: ${f}`);
await cleanup();
process.exit(failures.length ? 1 : 0);
