/** Sizes and time bounds of one run (whole run: about 3–4 minutes on 2 cores). User id ranges do not overlap. */
import { fileURLToPath } from 'node:url';

const child = (name: string) => fileURLToPath(new URL(`./children/${name}.js`, import.meta.url));

export const plan = {
  /** the whole run is aborted (and cleaned up) after this */
  deadlineMs: 400_000,
  /** sender/receiver dialogs (200 sockets) for the ladder; the first `create.sockets` of them for create and delivery */
  pairs: { firstUserId: 1_000, count: 100 },
  warmup: { creates: 400 },
  create: {
    sockets: 32,
    ms: 15_000,
    maxOps: 40_000,
    rawConnections: 10,
    rawMs: 8_000,
    rawFirstUserId: 3_000,
  },
  /** a closed loop from `writers` sockets of the two members of one dialog, then from as many sockets into a dialog each */
  oneDialog: { writers: 32, ms: 10_000, maxOps: 40_000, firstUserId: 300_000 },
  /** the create loop three times (with the feed, without: notifier stopped, with again); same sockets and length as `create` */
  feedCost: { ms: 15_000, maxOps: 40_000, catchUpMs: 60_000 },
  /** open loop over all pairs, rising rates; stops at the first rate whose create or delivery p99 passes the bound */
  ladder: {
    rates: [60, 100, 200, 300, 400, 500, 650, 800, 1_000, 1_200, 1_500],
    stepMs: 5_000,
    drainMs: 3_000,
    p99BoundMs: 100,
  },
  /** one rate, first with one notifier, then with two sharing the partitions */
  scale: { rate: 300, stepMs: 8_000, drainMs: 3_000 },
  /** the services with the pairs' sockets open and no traffic (after the warm-up has settled) */
  idle: { settleMs: 3_000, ms: 15_000 },
  delivery: { perSec: 300, ms: 10_000, drainMs: 5_000, floorScript: child('floor-ws') },
  memory: {
    sockets: 5_000,
    warmup: 200,
    settleMs: 2_000,
    firstUserId: 100_000,
    floorScript: child('floor-ws'),
  },
  unread: {
    firstUserId: 5_000,
    partners: 10,
    dialogsPerPartner: 50,
    messagesPerDialog: 2,
    readDialogs: 200,
    iterations: 300,
    loopIterations: 10,
  },
  rpc: { iterations: 2_000, echoScript: child('nats-echo') },
  /** one dialog this deep, seeded straight into the table; pages of `limit` at its newest and oldest ends */
  history: { firstUserId: 8_000, messages: 45_000, limit: 20, iterations: 200 },
  /** the reviewer's queue (PROTOCOL.md §9): 10 and 10,000 dialogs awaiting, seeded straight into the tables */
  awaiting: { firstUserId: 9_000, small: 10, large: 10_000, iterations: 300 },
  /** resume after 1,000 missed messages (PROTOCOL.md §8) */
  feed: { missed: 1_000, concurrency: 16, ms: 60_000 },
  /** the gateway's per-socket rate limit (default 20/s) would cap a closed-loop socket, and its upgrades-per-address limit the thousands of sockets opened from 127.0.0.1: lifted for the bench */
  gatewayEnv: {
    RATE_LIMIT_PER_SEC: '1000',
    RATE_LIMIT_BURST: '1000',
    HTTP_RATE_LIMIT_PER_MIN: '10000000',
    UPGRADES_PER_IP_PER_SEC: '0',
  },
} as const;
