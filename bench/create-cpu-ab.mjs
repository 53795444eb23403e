// CPU per `dialogs.messages.create` of two builds, measured interleaved in one process so that the
// machine's load (other tenants) hits both alike.
//
//   MYSQL_URL=… NATS_URL=… node bench/create-cpu-ab.mjs <rootA> <rootB> [blocks] [perBlock] [inFlight]
//
// Starts the built dialogs service of each root in this process (own database and subject prefix,
// no outbox relay, no files sweeper), one two-member plain dialog per sender, then runs blocks of
// `perBlock` creates on A and on B alternately (the order flips every block), `inFlight` at a time
// (each in its own dialog). Per build: CPU time of this process (the service and the RPC client,
// the same client for both) and of mariadbd per create, summed over its blocks; and the CPU of the
// mariadbd threads serving that build's connections (MariaDB's PROCESSLIST.TID, /proc task stats):
// the server's share that other tenants of the server do not touch.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { caller, connectBus, createRpcClient } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { createLogger } from '@parley/logger';
import { subjects as makeSubjects } from '@parley/protocol';
import { createConnection } from 'mysql2/promise';

const [rootA, rootB] = [process.argv[2], process.argv[3]].map((r) => resolve(r));
const blocks = Number(process.argv[4] ?? 20);
const perBlock = Number(process.argv[5] ?? 100);
const inFlight = Number(process.argv[6] ?? 1);
const mysqlServer = (process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const logger = createLogger({ name: 'create-cpu-ab', level: 'warn' });

const mariadbPid = execFileSync('pidof', ['mariadbd']).toString().trim().split(/\s+/)[0];
const mariadbCpuMs = () => {
  const f = readFileSync(`/proc/${mariadbPid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
};
// the server threads of one database's connections (MariaDB: a thread per connection, PROCESSLIST.TID)
const admin = await createConnection(mysqlServer);
const threadCpuMs = async (dbName) => {
  const [rows] = await admin.query('SELECT TID FROM information_schema.PROCESSLIST WHERE DB = ?', [dbName]);
  let ms = 0;
  for (const { TID } of rows) {
    try {
      const f = readFileSync(`/proc/${mariadbPid}/task/${TID}/stat`, 'utf8').split(') ')[1].split(' ');
      ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // the connection ended meanwhile
    }
  }
  return ms;
};
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function start(root) {
  const { createDialogsService } = await import(
    pathToFileURL(join(root, 'services/dialogs/dist/app.js')).href
  );
  const { dialogsConfigSpec } = await import(
    pathToFileURL(join(root, 'services/dialogs/dist/config.js')).href
  );
  const tag = randomBytes(4).toString('hex');
  const dbName = `parley_ab_${tag}`;
  const { config } = parseConfig(dialogsConfigSpec, {
    MYSQL_URL: `${mysqlServer}/${dbName}`,
    NATS_URL: natsUrl,
    SUBJECT_PREFIX: `ab_${tag}`,
    LOG_LEVEL: 'silent',
    OUTBOX_RELAY: 'false',
    FILES_SWEEP_INTERVAL_MS: '0',
  });
  const nc = await connectBus({ servers: natsUrl, name: `ab-${tag}`, logger });
  const service = createDialogsService({ config, nc, logger });
  await service.start();
  const rpc = createRpcClient(nc, makeSubjects(`ab_${tag}`), { timeoutMs: 20_000 });
  const dialogs = [];
  for (let i = 0; i < inFlight; i++) {
    for (const id of [1000 + 2 * i, 1001 + 2 * i]) {
      await rpc.request('admin.users.upsert', {
        id,
        email: `u${id}@ab.invalid`,
        first_name: `U${id}`,
        last_name: 'AB',
        email_notifications: false,
      });
    }
    const d = await rpc.request('admin.dialogs.create', {
      users: [1000 + 2 * i, 1001 + 2 * i],
      with_role: null,
    });
    dialogs.push({ author: 1000 + 2 * i, id: d.data.id });
  }
  let seq = 0;
  const create = (d) =>
    rpc.request('dialogs.messages.create', {
      caller: caller(d.author, 'c1'),
      params: { dialog_id: d.id, body: `throughput **${seq}**`, client_id: `ab-${tag}-${seq++}` },
    });
  const block = async (count) => {
    let left = count;
    await Promise.all(
      dialogs.map(async (d) => {
        while (left > 0) {
          left--;
          await create(d);
        }
      }),
    );
  };
  return {
    root,
    dbName,
    block,
    cpu: 0,
    db: 0,
    conn: 0,
    ms: 0,
    async stop() {
      await service.stop();
      await nc.drain().catch(() => nc.close());
      await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
    },
  };
}

const a = await start(rootA);
const b = await start(rootB);
// warm-up: JIT and pool connections of both
for (let i = 0; i < 3; i++) for (const s of [a, b]) await s.block(perBlock);
const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
for (let i = 0; i < blocks; i++) {
  for (const s of i % 2 ? [b, a] : [a, b]) {
    const n0 = await threadCpuMs(s.dbName);
    const [c0, d0, t0] = [ownCpuMs(), mariadbCpuMs(), performance.now()];
    await s.block(perBlock);
    s.cpu += ownCpuMs() - c0;
    s.db += mariadbCpuMs() - d0;
    const elapsed = performance.now() - t0;
    s.conn += (await threadCpuMs(s.dbName)) - n0;
    s.ms += elapsed;
  }
}
const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const k = blocks * perBlock;
console.log(
  `${blocks} blocks × ${perBlock} creates per build, ${inFlight} in flight, interleaved; load average ${load0} → ${load1}`,
);
for (const s of [a, b]) {
  console.log(
    `${s.root}: ${(s.cpu / k).toFixed(3)} ms CPU per create in this process (dialogs + RPC client), ${(s.db / k).toFixed(3)} ms in mariadbd (${(s.conn / k).toFixed(3)} in its connections' threads), ${((k * 1000) / s.ms).toFixed(0)} creates/s`,
  );
}
await a.stop();
await b.stop();
await admin.end();
