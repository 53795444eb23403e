/**
 * `npm run test:chaos` (not part of `npm test`: about two minutes): the whole system as processes —
 * a private nats-server (file store), dialogs, the notifier, two gateways — and a steady stream of
 * messages while each of them is SIGKILLed and restarted in turn. The sender retries each message
 * with its `client_id` until it is answered; each receiver is a client that reconnects (to whichever
 * gateway answers) with `?since=` its last seq. Printed: what each receiver lost and got twice.
 * PROTOCOL.md §8 says both are zero.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import {
  connectWs,
  createTestDatabase,
  freePort,
  type PrivateNats,
  randomPrefix,
  sleep,
  startNatsServer,
  type TestDatabase,
  type TestSocket,
  waitFor,
} from '@parley/testing';
import { ADMIN_TOKEN, JWT_SECRET, mintToken } from '../services/gateway/test/helpers.js';
import { root } from './system.js';

const STREAM_MS = 40_000;
const KILL_EVERY_MS = 5_000;

interface Service {
  name: string;
  start(): void;
  kill(): Promise<void>;
}

const procs = new Set<ChildProcess>();
let nats: PrivateNats | undefined;
let db: TestDatabase | undefined;

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await nats?.stop();
  await db?.drop();
}, 30_000);

function service(name: string, main: string, env: Record<string, string>): Service {
  let proc: ChildProcess | undefined;
  return {
    name,
    start() {
      const p = spawn(process.execPath, [join(root, main)], {
        cwd: root,
        env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
        stdio: 'ignore',
      });
      procs.add(p);
      p.once('exit', () => procs.delete(p));
      process.once('exit', () => p.kill('SIGKILL'));
      proc = p;
    },
    async kill() {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    },
  };
}

async function admin(base: string, method: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status}`);
  return res.json();
}

/** a client that stays connected: on close it reconnects to the first gateway that answers, with `since` */
function resilientReceiver(userId: number, urls: string[]) {
  const ids: number[] = [];
  let lastSeq = 0;
  let sock: TestSocket | undefined;
  let stopped = false;
  let resyncs = 0;
  let turn = 0;
  const loop = (async () => {
    while (!stopped) {
      const url = urls[turn++ % urls.length] as string;
      try {
        sock = await connectWs(url, {
          token: await mintToken(userId),
          ...(lastSeq ? { path: `/ws/?since=${lastSeq}` } : {}),
        });
      } catch {
        await sleep(200);
        continue;
      }
      const s = sock;
      s.ws.on('message', (data) => {
        const f = JSON.parse(String(data));
        if (f.event === 'sync' && f.data?.resync_required) resyncs++;
        if (typeof f.seq !== 'number') return;
        lastSeq = Math.max(lastSeq, f.seq);
        if (f.event === 'dialogs.messages.create') ids.push(f.data.id);
      });
      await s.closed;
    }
  })();
  return {
    ids,
    resyncs: () => resyncs,
    async stop() {
      stopped = true;
      await sock?.close();
      await loop;
    },
  };
}

test('a steady stream while every service and nats-server are killed in turn: nothing lost, nothing doubled', async () => {
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
  nats = await startNatsServer();
  db = await createTestDatabase();
  const prefix = randomPrefix();
  const common = {
    NATS_URL: nats.url,
    SUBJECT_PREFIX: prefix,
    FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
  };
  const ports = [await freePort(), await freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const gateways = ports.map((port, i) =>
    service(`gateway-${i + 1}`, 'services/gateway/dist/main.js', {
      ...common,
      PORT: String(port),
      JWT_SECRET,
      ADMIN_TOKEN,
      RATE_LIMIT_PER_SEC: '1000',
      RATE_LIMIT_BURST: '1000',
      REQUEST_TIMEOUT_MS: '2000',
    }),
  );
  const dialogs = service('dialogs', 'services/dialogs/dist/main.js', {
    ...common,
    MYSQL_URL: db.url,
    OUTBOX_POLL_MS: '200',
  });
  const notifier = service('notifier', 'services/notifier/dist/main.js', {
    ...common,
    LEADER_LEASE_SECONDS: '1',
  });
  const natsService: Service = {
    name: 'nats-server',
    start: () => void nats?.restart(),
    kill: async () => nats?.kill(),
  };
  for (const s of [dialogs, notifier, ...gateways]) s.start();
  await waitFor(
    async () => {
      const r = await fetch(`${urls[0]}/readyz`).catch(() => undefined);
      return r?.status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'the system to be ready' },
  );
  await admin(urls[0] as string, 'PUT', '/api/admin/users/1', { email: 'a@example.com' });
  await admin(urls[0] as string, 'PUT', '/api/admin/users/2', { email: 'b@example.com' });
  const dialog = (await admin(urls[0] as string, 'POST', '/api/admin/dialogs', { users: [1, 2] })) as {
    id: number;
  };

  const receivers = [resilientReceiver(2, urls), resilientReceiver(2, [...urls].reverse())];
  const sent: number[] = [];
  let sender: TestSocket | undefined;
  let stop = false;
  let turn = 0;
  const sending = (async () => {
    for (let i = 1; !stop; i++) {
      for (;;) {
        try {
          if (!sender || sender.ws.readyState !== sender.ws.OPEN) {
            sender = await connectWs(urls[turn++ % urls.length] as string, { token: await mintToken(1) });
          }
          const r = await sender.request(
            { event: 'dialogs.messages.create', dialog_id: dialog.id, body: `m${i}`, client_id: `c${i}` },
            5_000,
          );
          if (!r.exception) {
            if (!sent.includes(r.data.id)) sent.push(r.data.id);
            break;
          }
        } catch {
          // the socket went away or the answer did not come: retry with the same client_id
        }
        await sleep(100);
      }
      await sleep(50);
    }
  })();

  const victims = [gateways[0] as Service, dialogs, notifier, natsService, gateways[1] as Service];
  const started = Date.now();
  for (let k = 0; Date.now() - started < STREAM_MS; k++) {
    await sleep(KILL_EVERY_MS);
    const v = victims[k % victims.length] as Service;
    await v.kill();
    await sleep(500);
    v.start();
  }
  stop = true;
  await sending;
  await sender?.close();
  const last = sent.at(-1) as number;
  await waitFor(() => receivers.every((r) => r.ids.includes(last)), {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: 'every receiver to get the last message',
  });
  await sleep(1_000);
  for (const r of receivers) await r.stop();

  const report = receivers.map((r, i) => {
    const got = new Set(r.ids);
    const lost = sent.filter((id) => !got.has(id)).length;
    const duplicated = r.ids.length - got.size;
    return {
      receiver: i + 1,
      sent: sent.length,
      received: r.ids.length,
      lost,
      duplicated,
      resyncs: r.resyncs(),
    };
  });
  console.log(`chaos: ${JSON.stringify(report)}`);
  for (const r of report) {
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
  }
}, 240_000);
