// What a create-shaped transaction costs the server per message: one round trip per statement, all
// statements in one round trip, and ten messages per transaction (one COMMIT for ten: what group
// commit would save). Server CPU = the mariadbd thread serving this connection (PROCESSLIST.TID);
// client CPU = this process. Interleaved in blocks so the machine's load hits every shape alike.
//
//   MYSQL_URL=mysql://root@127.0.0.1:3306 node bench/commit-cost.mjs [blocks] [perBlock]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createConnection } from 'mysql2/promise';

const blocks = Number(process.argv[2] ?? 20);
const perBlock = Number(process.argv[3] ?? 200);
const server = (process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const pid = execFileSync('pidof', ['mariadbd']).toString().trim().split(/\s+/)[0];
const db = `parley_cc_${randomBytes(4).toString('hex')}`;
const admin = await createConnection(server);
await admin.query(`CREATE DATABASE ${db}`);
const conn = await createConnection({ uri: `${server}/${db}`, multipleStatements: true });
await conn.query(`CREATE TABLE d (id INT PRIMARY KEY, n INT NOT NULL, last_at DATETIME(6) NULL);
  CREATE TABLE m (id BIGINT AUTO_INCREMENT PRIMARY KEY, d INT NOT NULL, body TEXT NOT NULL, at DATETIME(6) NOT NULL, KEY (d));
  CREATE TABLE u (id INT PRIMARY KEY, v INT NOT NULL);
  CREATE TABLE o (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload TEXT NOT NULL)`);
await conn.query('INSERT INTO d VALUES (1, 0, NULL)');
await conn.query('INSERT INTO u VALUES (1, 0), (2, 0)');
const [[{ tid }]] = await conn.query(
  'SELECT TID AS tid FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()',
);
const threadMs = () => {
  const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const ownMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const now = '2026-11-30 00:00:00.000000';
const body = (i) => [
  ['SELECT * FROM d WHERE id = 1 FOR UPDATE', []],
  ['INSERT INTO m (d, body, at) VALUES (1, ?, ?)', [`message ${i}`, now]],
  ['UPDATE d SET n = n + 1, last_at = ? WHERE id = 1', [now]],
  ['UPDATE u SET v = v + 1 WHERE id IN (1, 2)', []],
  ['SELECT id, v FROM u WHERE id IN (1, 2)', []],
  ['INSERT INTO o (payload) VALUES (?)', [JSON.stringify({ i, text: 'x'.repeat(400) })]],
];
const join = (stmts) => [stmts.map(([s]) => s).join(';\n'), stmts.flatMap(([, p]) => p)];
const shapes = {
  'one round trip per statement (8 per message)': async (i) => {
    await conn.query('START TRANSACTION');
    for (const [s, p] of body(i)) await conn.query(s, p);
    await conn.query('COMMIT');
    return 1;
  },
  'all statements in one round trip (1 per message)': async (i) => {
    await conn.query(...join([['START TRANSACTION', []], ...body(i), ['COMMIT', []]]));
    return 1;
  },
  'ten messages per transaction, one round trip (one COMMIT for ten)': async (i) => {
    const stmts = [['START TRANSACTION', []]];
    for (let k = 0; k < 10; k++) stmts.push(...body(i * 10 + k));
    stmts.push(['COMMIT', []]);
    await conn.query(...join(stmts));
    return 10;
  },
};
const totals = Object.fromEntries(Object.keys(shapes).map((k) => [k, { server: 0, client: 0, msgs: 0 }]));
for (const [, run] of Object.entries(shapes)) for (let i = 0; i < 50; i++) await run(i); // warm-up
const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
for (let b = 0; b < blocks; b++) {
  const order = Object.entries(shapes);
  if (b % 2) order.reverse();
  for (const [name, run] of order) {
    const t = totals[name];
    const [s0, c0] = [threadMs(), ownMs()];
    let msgs = 0;
    while (msgs < perBlock) msgs += await run(msgs);
    t.server += threadMs() - s0;
    t.client += ownMs() - c0;
    t.msgs += msgs;
  }
}
const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `${blocks} blocks × ${perBlock} messages per shape, interleaved; load average ${load0} → ${load1}`,
);
for (const [name, t] of Object.entries(totals)) {
  console.log(
    `${name}: ${(t.server / t.msgs).toFixed(3)} ms mariadbd (this connection's thread), ${(t.client / t.msgs).toFixed(3)} ms client per message`,
  );
}
await conn.end();
await admin.query(`DROP DATABASE ${db}`);
await admin.end();
