// Round trips and SQL statements per `dialogs.messages.create`, independent of machine load.
//
//   MYSQL_URL=mysql://root@127.0.0.1:3306 NATS_URL=nats://127.0.0.1:4222 node bench/round-trips.mjs [servicesRoot] [n]
//
// Starts the built dialogs service of `servicesRoot` (default: this repository) in this process on a
// fresh database, with a pool of two connections (migrations need two), no outbox relay and no files sweeper, so every statement
// on them is a create's. Counts mysql2 `query`/`execute` calls (round trips) and the
// session's `Questions` (statements the server ran), over n creates per scenario after a warm-up.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { caller, connectBus, createRpcClient } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { createLogger } from '@parley/logger';
import { subjects as makeSubjects } from '@parley/protocol';
import { createConnection } from 'mysql2/promise';

const repo = resolve(import.meta.dirname, '..');
const root = resolve(process.argv[2] ?? repo);
const n = Number(process.argv[3] ?? 100);
const mysqlServer = (process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/[^/]*$/, (m) =>
  m.includes('@') ? m : '',
);
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

// count round trips on the mysql2 module the service's TypeORM loads
const requireFromTypeorm = createRequire(
  createRequire(join(root, 'services', 'dialogs', 'package.json')).resolve('typeorm'),
);
let proto = requireFromTypeorm('mysql2').Connection.prototype;
while (!Object.hasOwn(proto, 'query')) proto = Object.getPrototypeOf(proto);
const originalQuery = proto.query;
let roundTrips = 0;
const conns = new Set();
proto.query = function (...args) {
  roundTrips++;
  conns.add(this);
  return originalQuery.apply(this, args);
};
const rawQuery = (conn, sql) =>
  new Promise((ok, fail) => originalQuery.call(conn, sql, (err, rows) => (err ? fail(err) : ok(rows))));

const { createDialogsService } = await import(pathToFileURL(join(root, 'services/dialogs/dist/app.js')).href);
const { dialogsConfigSpec } = await import(pathToFileURL(join(root, 'services/dialogs/dist/config.js')).href);

const dbName = `parley_rt_${randomBytes(4).toString('hex')}`;
const prefix = `rt_${randomBytes(4).toString('hex')}`;
const { config } = parseConfig(dialogsConfigSpec, {
  MYSQL_URL: `${mysqlServer}/${dbName}`,
  NATS_URL: natsUrl,
  SUBJECT_PREFIX: prefix,
  LOG_LEVEL: 'silent',
  DB_POOL_SIZE: '2',
  OUTBOX_RELAY: 'false',
  FILES_SWEEP_INTERVAL_MS: '0',
});
const logger = createLogger({ name: 'round-trips', level: 'warn' });
const nc = await connectBus({ servers: natsUrl, name: 'round-trips', logger });
const service = createDialogsService({ config, nc, logger });
await service.start();
const subjects = makeSubjects(prefix);
const rpc = createRpcClient(nc, subjects, { timeoutMs: 10_000 });

const user = (id, role) =>
  rpc.request('admin.users.upsert', {
    id,
    email: `u${id}@rt.invalid`,
    first_name: `U${id}`,
    last_name: 'RT',
    email_notifications: false,
    ...(role ? { role } : {}),
  });
const dialog = async (users, withRole = null) =>
  (await rpc.request('admin.dialogs.create', { users, with_role: withRole })).data.id;
let seq = 0;
const create = (author, dialogId, extra = {}) =>
  rpc.request('dialogs.messages.create', {
    caller: caller(author, 'c1'),
    params: { dialog_id: dialogId, body: `throughput **${seq}**`, client_id: `rt-${seq++}`, ...extra },
  });

// each SHOW is one round trip and one statement more on its connection
// CPU time (ms) of mariadbd (shared with whatever else uses the server: compare runs of one hour)
const mariadbPid = (() => {
  try {
    return execFileSync('pidof', ['mariadbd']).toString().trim().split(/\s+/)[0];
  } catch {
    return undefined;
  }
})();
const ticks = Number(process.env.CLK_TCK ?? 100);
const mariadbCpuMs = () => {
  if (!mariadbPid) return Number.NaN;
  const f = readFileSync(`/proc/${mariadbPid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
};
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const questions = async () => {
  let sum = 0;
  for (const c of conns) sum += Number((await rawQuery(c, "SHOW SESSION STATUS LIKE 'Questions'"))[0].Value);
  return sum;
};

for (const [id, role] of [
  [1, null],
  [2, null],
  [3, 'reviewer'],
  [4, 'support'],
  [5, 'support'],
]) {
  await user(id, role);
}
const plain = await dialog([1, 2]);
conns.clear(); // connections of start-up may be closed now; the creates' ones are added again
const review = await dialog([1, 3]);
const support = await dialog([1], 'support');
// 16 dialogs of their own for creates in flight together (group commit)
const many = [];
for (let i = 0; i < 16; i++) {
  await user(100 + 2 * i);
  await user(101 + 2 * i);
  many.push(await dialog([100 + 2 * i, 101 + 2 * i]));
}

const scenarios = [
  ['plain dialog, student to student (the bench)', () => create(1, plain)],
  ['plain dialog, student and reviewer alternating (the queue moves)', (i) => create(i % 2 ? 3 : 1, review)],
  ['support dialog, student and support alternating', (i) => create(i % 2 ? 4 : 1, support)],
  [
    'plain dialog, a reply to the previous message',
    async () => {
      const { data } = await create(1, plain);
      return create(2, plain, { reply_id: data.id });
    },
    2,
  ],
  [
    '8 creates in flight into one plain dialog (group commit, one dialog)',
    () => Promise.all(Array.from({ length: 8 }, (_, i) => create(100 + (i % 2), many[0]))),
    8,
  ],
  [
    '16 creates in flight into 16 plain dialogs (group commit)',
    () => Promise.all(many.map((d, i) => create(100 + 2 * i, d))),
    16,
  ],
];
const out = [];
for (const [name, run, per = 1] of scenarios) {
  for (let i = 0; i < 4; i++) await run(i);
  const q0 = await questions();
  const size = conns.size;
  const rt0 = roundTrips;
  const [own0, db0, t0] = [ownCpuMs(), mariadbCpuMs(), performance.now()];
  for (let i = 0; i < n; i++) await run(i);
  const [own1, db1, t1] = [ownCpuMs(), mariadbCpuMs(), performance.now()];
  const rt = roundTrips - rt0;
  const q1 = await questions();
  if (conns.size !== size) throw new Error('a new pool connection appeared during the count');
  const statements = q1 - q0 - conns.size;
  const k = n * per;
  out.push({
    name,
    roundTrips: rt / k,
    statements: statements / k,
    cpu: `${((own1 - own0) / k).toFixed(2)} ms CPU in this process (dialogs + the RPC client), ${((db1 - db0) / k).toFixed(2)} ms in mariadbd, ${((t1 - t0) / k).toFixed(2)} ms each, one at a time`,
  });
}
console.log(`root: ${root}, ${n} creates per scenario`);
console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
for (const o of out)
  console.log(
    `${o.name}: ${o.roundTrips.toFixed(2)} round trips, ${o.statements.toFixed(2)} statements per create; ${o.cpu}`,
  );

await service.stop();
await nc.drain().catch(() => nc.close());
const admin = await createConnection(mysqlServer);
await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
await admin.end();
