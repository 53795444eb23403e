/**
 * The built mailer as a child process, SIGKILLed right after the SMTP server
 * accepted an e-mail and before the event was acked: the restarted mailer
 * gets the event again and does not send a second e-mail.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection, openJsonKv, publishEvent } from '@parley/bus';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, type SmtpSink, startSmtpSink, waitFor } from '@parley/testing';
import { created, drained, dropAll, logger, message, recipient } from './helpers.js';

const root = join(import.meta.dirname, '../../..');
const prefix = randomPrefix();
const s = subjects(prefix);
let nc: NatsConnection;
let sink: SmtpSink;
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
  sink = await startSmtpSink();
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await dropAll(nc, s);
  await sink.stop();
  await nc.close();
});

async function startMailer(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(root, 'services/mailer/dist/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NATS_URL: await natsUrl(),
      SUBJECT_PREFIX: prefix,
      SMTP_URL: sink.url,
      LOG_LEVEL: 'info',
      EVENT_ACK_WAIT_SECONDS: '2',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(() => out.includes('mailer started'), { timeoutMs: 15_000, what: 'the mailer to start' });
  return child;
}

test('killed after the SMTP accept, before the ack: after a restart no second e-mail; later e-mails still go', async () => {
  const first = await startMailer();
  const exited = new Promise((r) => first.once('exit', r));
  // stored by the SMTP server, and the mailer dies before it hears the "250"
  sink.onAccept = () => {
    first.kill('SIGKILL');
    return exited;
  };
  await publishEvent(nc, s, created(message(1001, 5, 1), [recipient(2)]));
  await exited;
  sink.onAccept = undefined;
  expect(sink.messages).toHaveLength(1);
  const jsm = await nc.jetstreamManager();
  const before = await jsm.consumers.info(s.eventStream, s.durable('mailer'));
  expect(before.ack_floor.stream_seq).toBe(0);
  await startMailer();
  // the killed one's event comes back after the ack wait and is acked without a resend
  await drained(nc, s, 20_000);
  const after = await jsm.consumers.info(s.eventStream, s.durable('mailer'));
  expect(after.ack_floor.stream_seq).toBeGreaterThanOrEqual(before.delivered.stream_seq);
  const kv = await openJsonKv<{ state: string }>(nc, s.mailBucket);
  expect(['sending', 'sent']).toContain((await kv.get('d.1001.2'))?.value.state);
  await publishEvent(nc, s, created(message(1002, 5, 1), [recipient(2)]));
  await sink.waitForCount(2);
  await drained(nc, s);
  expect(sink.messages.map((m) => m.parsed.messageId)).toEqual([
    '<parley.m1001.u2@localhost>',
    '<parley.m1002.u2@localhost>',
  ]);
}, 60_000);
