/**
 * E-mail latency of the built mailer (PROTOCOL.md §6) at a fixed offered rate: `message.created`
 * events published to JetStream open loop, each to one recipient with e-mail on (a different one per
 * message, so the hourly cap never applies), the real mailer as a child process, the in-process SMTP
 * sink of libs/testing on loopback. Latency = publish → the sink stored the e-mail.
 *
 * Bounded: RATE × SECONDS messages (default 50/s × 20 s), 60 s at most to drain, a 150 s watchdog;
 * stops only the child it started (by PID) and deletes the stream and bucket of its own prefix.
 *
 *   npm run build && node services/mailer/bench/latency.mjs            # RATE=50 SECONDS=20
 *   RATE=100 SECONDS=10 node services/mailer/bench/latency.mjs
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connectBus, publishEvent } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { createdEvent, message, randomPrefix, recipient, startSmtpSink, waitFor } from '@parley/testing';

const RATE = Number(process.env.RATE ?? 50);
/** e-mails per event: 1 = one recipient per message; 5 = a team dialog of five (RATE / 5 events/s) */
const PER_EVENT = Number(process.env.PER_EVENT ?? 1);
const SECONDS = Number(process.env.SECONDS ?? 20);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
if (!/^nats:\/\/(127\.0\.0\.1|localhost):\d+$/.test(NATS_URL)) throw new Error('loopback NATS only');
const root = join(import.meta.dirname, '../../..');
const prefix = `bench_mail_${randomPrefix()}`;
const s = subjects(prefix);

let child;
const watchdog = setTimeout(() => {
  console.error('watchdog: 150 s, aborting');
  if (child?.exitCode === null) process.kill(child.pid, 'SIGKILL');
  process.exit(2);
}, 150_000);

const sink = await startSmtpSink();
const arrived = new Map();
sink.onAccept = (m) => {
  arrived.set(m.parsed.messageId, performance.now());
};
const nc = await connectBus({ servers: NATS_URL, name: 'mail-bench', logger: silentLogger() });

// MAILER_MAIN: another build to compare (e.g. the previous code built into services/mailer/dist-before)
child = spawn(process.execPath, [process.env.MAILER_MAIN ?? join(root, 'services/mailer/dist/main.js')], {
  env: { PATH: process.env.PATH, NATS_URL, SUBJECT_PREFIX: prefix, SMTP_URL: sink.url, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const jsm = await nc.jetstreamManager();
await waitFor(
  async () =>
    jsm.consumers
      .info(s.mailStream, s.mailDurable)
      .then(() => true)
      .catch(() => false),
  { timeoutMs: 20_000, what: 'the mailer consumer' },
);

const sent = new Map();
let nextId = 1;
async function publishOne() {
  const id = nextId++;
  const to = Array.from({ length: PER_EVENT }, (_, k) => 100_000 + id * PER_EVENT + k);
  const e = createdEvent(message(id, 1 + (id % 50), 1), { recipients: to.map((u) => recipient(u)) });
  const t = performance.now();
  for (const u of to) sent.set(`<parley.m${id}.u${u}@localhost>`, t);
  await publishEvent(nc, s, e);
}

// warm-up: 20 events, not measured
for (let i = 0; i < 20; i++) await publishOne();
await waitFor(() => arrived.size >= 20 * PER_EVENT, { timeoutMs: 20_000, what: 'warm-up e-mails' });
sent.clear();
arrived.clear();

// open loop: message i is due at start + i / RATE, whatever the answers do
const total = RATE * SECONDS;
const start = performance.now();
const publishes = [];
for (let i = 0; i < total / PER_EVENT; i++) {
  const due = start + (i * 1000 * PER_EVENT) / RATE;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  publishes.push(publishOne());
}
await Promise.all(publishes);
await waitFor(() => [...sent.keys()].every((k) => arrived.has(k)), {
  timeoutMs: 60_000,
  intervalMs: 100,
  what: 'every e-mail',
}).catch(() => undefined);

const lat = [...sent].flatMap(([k, t]) => (arrived.has(k) ? [arrived.get(k) - t] : [])).sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] ?? Number.NaN;
const f = (x) => x.toFixed(1);
console.log(
  `${RATE}/s × ${SECONDS} s, ${PER_EVENT} per event: ${lat.length}/${total} e-mails; latency ms p50 ${f(pct(50))} p90 ${f(pct(90))} p99 ${f(pct(99))} max ${f(lat.at(-1) ?? Number.NaN)}`,
);

process.kill(child.pid, 'SIGTERM');
await new Promise((r) => child.once('exit', r));
for (const name of [s.eventStream, s.notifyStream, s.mailStream, `KV_${s.mailBucket}`])
  await jsm.streams.delete(name).catch(() => undefined);
await nc.close();
await sink.stop();
clearTimeout(watchdog);
