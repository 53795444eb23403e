/**
 * The built mailer as a child process, SIGKILLed: at the worst moment (the
 * SMTP server stored the e-mail, the mailer never heard its "250"), then 22
 * times at random moments while a stream of messages flows, and 12 times more
 * with MAIL_DELAY_SECONDS batching. Whatever the moment, every message reaches
 * the real SMTP sink; the only repeats are e-mails whose transaction a kill
 * interrupted, each with the first copy's Message-ID, at most one per kill
 * (SMTP_MAX_CONNECTIONS=1).
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

/**
 * A message every ~80 ms (7 dialogs, three members with e-mail on besides the author) while the built
 * mailer is started and SIGKILLed `kills` times: mostly at random moments, every fourth time right when
 * the SMTP server has stored an e-mail. Ends with a mailer that stays up and every expected pair
 * (message, recipient) in some e-mail.
 */
async function killDuringStream(kills: number, env: Record<string, string>) {
  const { prefix, s, sink } = await setup();
  const AUTHOR = 1;
  const RECIPIENTS = [2, 3, 4];
  await ensureEventStream(nc, s);
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
  for (let k = 0; k < kills; k++) {
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
  for (let i = 0; i < published; i++) for (const u of RECIPIENTS) expected.add(`${5000 + i}/${u}`);
  /** (message, recipient) → the Message-IDs of the e-mails that carried it */
  const carried = () => {
    const map = new Map<string, Set<string>>();
    for (const m of sink.messages) {
      const u = /^u(\d+)@example\.test$/.exec(m.envelope.to.join(','))?.[1];
      for (const [, n] of (m.parsed.text ?? '').matchAll(/^message (\d+)$/gm)) {
        const pair = `${n}/${u}`;
        map.set(pair, (map.get(pair) ?? new Set()).add(String(m.parsed.messageId)));
      }
    }
    return map;
  };
  await waitFor(
    () => {
      const c = carried();
      return [...expected].every((p) => c.has(p));
    },
    { timeoutMs: 120_000, intervalMs: 250, what: `all ${expected.size} (message, recipient) pairs mailed` },
  );
  await drained(nc, s, 60_000);
  return { messages: sink.messages, expected, carried: carried(), atAccept };
}

test('22 SIGKILLs at random moments during a stream of messages: every e-mail arrives; repeats carry the first Message-ID, at most one per kill', async () => {
  const KILLS = 22;
  // a cap no recipient reaches: the quota records are written under the kills too, nothing is folded
  const { messages, expected, carried, atAccept } = await killDuringStream(KILLS, {
    MAIL_MAX_PER_RECIPIENT_PER_HOUR: '10000',
  });
  // every copy is the e-mail of one (message, recipient), under that pair's one Message-ID
  for (const m of messages) {
    const n = /message (\d+)/.exec(m.parsed.text ?? '')?.[1];
    const u = /^u(\d+)@example\.test$/.exec(m.envelope.to.join(','))?.[1];
    expect(m.parsed.messageId).toBe(`<parley.m${n}.u${u}@localhost>`);
  }
  expect(new Set(carried.keys())).toEqual(expected);
  const repeats = messages.length - expected.size;
  // a kill at the worst moment always causes one; no kill causes more than one
  // the kills timed at the worst moment did happen there, and each of those repeated its e-mail
  expect(atAccept).toBeGreaterThan(0);
  expect(repeats).toBeGreaterThanOrEqual(atAccept);
  expect(repeats).toBeLessThanOrEqual(KILLS);
}, 300_000);

test('12 SIGKILLs with MAIL_DELAY_SECONDS batching: every message is mailed, always within one e-mail (one Message-ID), repeats at most one per kill', async () => {
  const KILLS = 12;
  const { messages, expected, carried, atAccept } = await killDuringStream(KILLS, {
    MAIL_DELAY_SECONDS: '1',
    MAIL_MAX_PER_RECIPIENT_PER_HOUR: '10000',
  });
  expect(new Set(carried.keys())).toEqual(expected);
  // a message never went in two different e-mails: its copies, if any, are the same e-mail again
  for (const ids of carried.values()) expect(ids.size).toBe(1);
  const distinct = new Set(messages.map((m) => `${m.envelope.to.join(',')} ${m.parsed.messageId}`));
  const repeats = messages.length - distinct.size;
  // the kills timed at the worst moment did happen there, and each of those repeated its e-mail
  expect(atAccept).toBeGreaterThan(0);
  expect(repeats).toBeGreaterThanOrEqual(atAccept);
  expect(repeats).toBeLessThanOrEqual(KILLS);
  // batching happened: fewer e-mails than pairs
  expect(distinct.size).toBeLessThan(expected.size);
}, 300_000);
