/**
 * The built mailer started while NATS is unreachable: it keeps trying (a listener on NATS's port
 * that hangs up on every connection counts the attempts) instead of exiting, its telemetry
 * `/readyz` answers 503 meanwhile and 200 only once NATS is back and its bucket and consumer exist,
 * and an event published then is mailed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection, publishEvent } from '@parley/bus';
import { subjects } from '@parley/protocol';
import {
  freePort,
  type PrivateNats,
  randomPrefix,
  type SmtpSink,
  startNatsServer,
  startSmtpSink,
  waitFor,
} from '@parley/testing';
import { created, logger, message, recipient } from './helpers.js';

const root = join(import.meta.dirname, '../../..');
let nats: PrivateNats;
let sink: SmtpSink;
let child: ChildProcess | undefined;
let nc: NatsConnection | undefined;

beforeAll(async () => {
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'services/mailer'],
    { cwd: root, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`tsc -b services/mailer failed:\n${build.stdout}${build.stderr}`);
  nats = await startNatsServer();
  sink = await startSmtpSink();
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await nc?.close().catch(() => undefined);
  await nats?.stop();
  await sink?.stop();
});

async function readyz(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
  } catch {
    return 0;
  }
}

test('a mailer started while NATS is down waits, becomes ready when NATS is back, and mails', async () => {
  const prefix = randomPrefix();
  const metricsPort = await freePort();
  await nats.kill();
  // NATS's port answers and hangs up: every connection attempt of the mailer is counted
  let attempts = 0;
  const refuser: Server = createServer((socket) => {
    attempts++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => refuser.listen(nats.port, '127.0.0.1', resolve));

  child = spawn(process.execPath, [join(root, 'services/mailer/dist/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NATS_URL: nats.url,
      SUBJECT_PREFIX: prefix,
      SMTP_URL: sink.url,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(() => attempts >= 3 || child?.exitCode !== null, {
    timeoutMs: 30_000,
    what: 'three connection attempts',
  });
  expect(child.exitCode).toBeNull();
  // its telemetry endpoint answers meanwhile: alive, not ready
  expect(await readyz(metricsPort)).toBe(503);

  await new Promise<void>((resolve) => refuser.close(() => resolve()));
  await nats.restart();
  await waitFor(async () => (await readyz(metricsPort)) === 200 || child?.exitCode !== null, {
    timeoutMs: 60_000,
    what: 'the mailer ready',
  });
  expect(child.exitCode).toBeNull();
  expect(await readyz(metricsPort)).toBe(200);

  nc = await connectBus({ servers: [nats.url], name: 'mailer-startup-test', logger });
  await publishEvent(nc, subjects(prefix), created(message(7001, 70, 1), [recipient(1), recipient(2)]));
  await sink.waitForCount(1, 30_000);
  expect(sink.messages[0]?.parsed.messageId).toBe('<parley.m7001.u2@localhost>');
}, 150_000);
