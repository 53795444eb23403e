/**
 * The built mailer as a child process, SIGKILLed: at the worst moment (the
 * SMTP server stored the e-mail, the mailer never heard its "250"), and then
 * 20+ times at random moments while a stream of messages flows. Whatever the
 * moment, every e-mail reaches the real SMTP sink; the only repeats are e-mails
 * whose transaction a kill interrupted, each with the first copy's Message-ID,
 * at most one per kill (SMTP_MAX_CONNECTIONS=1).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, ensureEventStream, type NatsConnection, openJsonKv, publishEvent } from '@parley/bus';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, type SmtpSink, startSmtpSink, waitFor } from '@parley/testing';
import { created, drained, dropAll, logger, message, recipient } from './helpers.js';

const root = join(import.meta.dirname, '../../..');
const prefixes: string[] = [];
let nc: NatsConnection;
const sinks: SmtpSink[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'services/mailer'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (build.status !== 0) throw new Error(`tsc -b services/mailer failed:\n${build.stdout}${build.stderr}`);
  nc = await connectBus({ servers: [await natsUrl()], name: 'mailer-crash-test', logger });
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const p of prefixes) await dropAll(nc, subjects(p));
  for (const sink of sinks) await sink.stop();
  await nc.close();
});

async function setup() {
  const prefix = randomPrefix();
  prefixes.push(prefix);
  const sink = await startSmtpSink();
  sinks.push(sink);
  return { prefix, s: subjects(prefix), sink };
}

/** The built mailer, started like `npm start` starts it; resolves once it consumes. */
async function startMailer(prefix: string, sink: SmtpSink, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(root, 'services/mailer/dist/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NATS_URL: await natsUrl(),
      SUBJECT_PREFIX: prefix,
      SMTP_URL: sink.url,
      LOG_LEVEL: 'info',
      EVENT_ACK_WAIT_SECONDS: '2',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(() => out.includes('mailer started') || child.exitCode !== null, {
    timeoutMs: 30_000,
    what: 'the mailer to start',
  });
  if (child.exitCode !== null) throw new Error(`the mailer exited at start (${child.exitCode})`);
  return {
    exited,
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

test('killed after the SMTP server stored the e-mail, before the "250": the restarted mailer sends it again with the same Message-ID; later e-mails still go', async () => {
  const { prefix, s, sink } = await setup();
  const first = await startMailer(prefix, sink);
  // stored by the SMTP server, and the mailer dies before it hears the "250"
  sink.onAccept = () => first.kill();
  await publishEvent(nc, s, created(message(1001, 5, 1), [recipient(2)]));
  await first.exited;
  sink.onAccept = undefined;
  expect(sink.messages).toHaveLength(1);
  await startMailer(prefix, sink);
  // the killed one's event comes back after the ack wait; its record still says `sending`
  await sink.waitForCount(2, 30_000);
  await drained(nc, s, 30_000);
  const kv = await openJsonKv<{ state: string }>(nc, s.mailBucket);
  expect((await kv.get('d.1001.2'))?.value.state).toBe('sent');
  await publishEvent(nc, s, created(message(1002, 5, 1), [recipient(2)]));
  await sink.waitForCount(3);
  await drained(nc, s);
  expect(sink.messages.map((m) => m.parsed.messageId)).toEqual([
    '<parley.m1001.u2@localhost>',
    '<parley.m1001.u2@localhost>',
    '<parley.m1002.u2@localhost>',
  ]);
  // the two copies are the same e-mail
  expect(sink.messages[1]?.parsed.text).toBe(sink.messages[0]?.parsed.text);
}, 90_000);

test('22 SIGKILLs at random moments during a stream of messages: every e-mail arrives; repeats carry the first Message-ID, at most one per kill', async () => {
  const { prefix, s, sink } = await setup();
  const KILLS = 22;
  const AUTHOR = 1;
  const RECIPIENTS = [2, 3, 4];
  // a cap no recipient reaches: the quota records are written under the kills too, nothing is folded
  const env = { MAIL_MAX_PER_RECIPIENT_PER_HOUR: '10000' };

  await ensureEventStream(nc, s);
  // the stream: a message every ~80 ms to three members with e-mail on, until the kills are done
  let stop = false;
  let published = 0;
  const publisher = (async () => {
    while (!stop && published < 2_000) {
      const id = 5000 + published;
      await publishEvent(
        nc,
        s,
        created(
          message(id, 100 + (id % 7), AUTHOR),
          [AUTHOR, ...RECIPIENTS].map((u) => recipient(u)),
        ),
      );
      published++;
      await new Promise((r) => setTimeout(r, 40 + Math.random() * 80));
    }
  })();

  let atAccept = 0;
  for (let k = 0; k < KILLS; k++) {
    const mailer = await startMailer(prefix, sink, env);
    if (k % 4 === 3) {
      // the worst moment: the server stored an e-mail, the mailer will never hear the "250"
      let hit = false;
      sink.onAccept = () => {
        hit = true;
        return mailer.kill();
      };
      const fallback = setTimeout(() => void mailer.kill(), 20_000);
      await mailer.exited;
      clearTimeout(fallback);
      sink.onAccept = undefined;
      if (hit) atAccept++;
    } else {
      // anywhere: starting up, reading KV, mid-SMTP, between the accept and the record
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 1_200));
      await mailer.kill();
    }
  }
  stop = true;
  await publisher;
  await startMailer(prefix, sink, env);

  const expected = new Set<string>();
  for (let i = 0; i < published; i++)
    for (const u of RECIPIENTS) expected.add(`<parley.m${5000 + i}.u${u}@localhost>`);
  const received = () => new Set(sink.messages.map((m) => m.parsed.messageId));
  await waitFor(() => [...expected].every((id) => received().has(id)), {
    timeoutMs: 120_000,
    intervalMs: 250,
    what: `all ${expected.size} e-mails`,
  });
  await drained(nc, s, 60_000);

  // every copy is the e-mail of one (message, recipient), under that pair's one Message-ID
  const copies = new Map<string, number>();
  for (const m of sink.messages) {
    const n = /message (\d+)/.exec(m.parsed.text ?? '')?.[1];
    const to = m.envelope.to.join(',');
    const u = /^u(\d+)@example\.test$/.exec(to)?.[1];
    expect(m.parsed.messageId).toBe(`<parley.m${n}.u${u}@localhost>`);
    copies.set(`${n}/${u}`, (copies.get(`${n}/${u}`) ?? 0) + 1);
  }
  expect(copies.size).toBe(expected.size);
  expect(received()).toEqual(expected);
  const repeats = sink.messages.length - expected.size;
  // a kill at the worst moment always causes one; no kill causes more than one
  expect(repeats).toBeGreaterThanOrEqual(atAccept);
  expect(repeats).toBeLessThanOrEqual(KILLS);
}, 300_000);
