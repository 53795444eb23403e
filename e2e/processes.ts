/**
 * The whole system as processes, for the tests that SIGKILL services (`cluster.test.ts`,
 * `chaos.chaos.ts`): each service is its built `services/<name>/dist/main.js` in a child process
 * that can be killed and started again; the admin API over HTTP; a sender that retries every
 * message with its `client_id` until it is answered; and receivers that stay connected the way a
 * client does (PROTOCOL.md §8: reconnect to whichever gateway answers, with `?since=` the last seq).
 *
 * A service process that exits without being killed by the test is recorded (`crashes()`) with the
 * last lines it wrote, so a test can say which process died and why.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectWs, sleep, type TestSocket, waitFor } from '@parley/testing';
import { ADMIN_TOKEN, mintToken } from '../services/gateway/test/helpers.js';
import { root } from './system.js';

/** lines of output kept per process (pino JSON at LOG_LEVEL info is a few lines per start) */
const KEPT_LINES = 2_000;
/** where every process's output also goes when set (a directory; one file per service) */
const LOG_DIR = process.env.PARLEY_E2E_LOG_DIR;

export interface Crash {
  service: string;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the last lines it wrote */
  tail: string[];
}

export interface ServiceProcess {
  readonly name: string;
  /** spawn the process (again) with the same environment */
  start(): void;
  /** SIGKILL; resolves once it has exited */
  kill(): Promise<void>;
  readonly running: boolean;
  /** output lines of the current process (stdout and stderr), oldest first */
  lines(): string[];
  /** resolves once the current process is ready (its own probe), rejects after `timeoutMs` */
  ready(timeoutMs?: number): Promise<void>;
}

export interface ServiceOptions {
  /** is the current process ready? (default: it is running) */
  probe?: (p: ServiceProcess) => boolean | Promise<boolean>;
}

const live = new Set<ChildProcess>();
/** processes the test SIGKILLed: their exit is no crash */
const killed = new WeakSet<ChildProcess>();
const crashes: Crash[] = [];
// a test process that exits without its cleanup must not leave a service behind
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function sigkill(p: ChildProcess): Promise<unknown> {
  const exited = new Promise((r) => p.once('exit', r));
  killed.add(p);
  p.kill('SIGKILL');
  return exited;
}

/** exits of service processes that no `kill()` caused, so far */
export function serviceCrashes(): Crash[] {
  return [...crashes];
}

/** senders and receivers still running: a test that failed half-way leaves them to the cleanup */
const clients = new Set<{ abandon(): Promise<void> }>();

/**
 * The suite's cleanup: stop every sender and receiver still running (without waiting for an
 * answer the broken system may never give), then SIGKILL every service process
 */
export async function stopAll(): Promise<void> {
  await Promise.all([...clients].map((c) => c.abandon()));
  await Promise.all([...live].map(sigkill));
}

/** `tsc -b` of the four services, so each `dist/main.js` is current (nothing to do when it is) */
export function buildServices(): void {
  const projects = ['gateway', 'dialogs', 'notifier', 'mailer'].map((s) => `services/${s}`);
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', ...projects],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}

/** `services/<main>` as a child process with `env` (plus PATH; LOG_LEVEL warn unless given) */
export function service(
  name: string,
  main: string,
  env: Record<string, string>,
  opts: ServiceOptions = {},
): ServiceProcess {
  let proc: ChildProcess | undefined;
  let out: string[] = [];
  const isRunning = (p: ChildProcess | undefined) =>
    p !== undefined && p.exitCode === null && p.signalCode === null;
  const self: ServiceProcess = {
    name,
    get running() {
      return isRunning(proc);
    },
    lines: () => out,
    start() {
      const p = spawn(process.execPath, [join(root, main)], {
        cwd: root,
        env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      out = lines;
      proc = p;
      let partial = '';
      const take = (chunk: Buffer) => {
        const text = partial + chunk.toString();
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
        if (lines.length > KEPT_LINES) lines.splice(0, lines.length - KEPT_LINES);
        if (LOG_DIR && parts.length) {
          mkdirSync(LOG_DIR, { recursive: true });
          appendFileSync(join(LOG_DIR, `${name}.log`), parts.map((l) => `${p.pid} ${l}\n`).join(''));
        }
      };
      p.stdout?.on('data', take);
      p.stderr?.on('data', take);
      live.add(p);
      p.once('exit', (code, signal) => {
        live.delete(p);
        if (!killed.has(p)) crashes.push({ service: name, pid: p.pid, code, signal, tail: lines.slice(-30) });
      });
    },
    async kill() {
      const p = proc;
      if (!p || !isRunning(p)) return;
      await sigkill(p);
    },
    async ready(timeoutMs = 60_000) {
      try {
        await waitFor(async () => isRunning(proc) && (opts.probe ? await opts.probe(self) : true), {
          timeoutMs,
          intervalMs: 100,
          what: `${name} to be ready`,
        });
      } catch (err) {
        // what the process said last is the only clue to why it did not get ready
        const tail = out.slice(-20).join('\n');
        throw new Error(`${(err as Error).message}; its last lines:\n${tail}`);
      }
    },
  };
  return self;
}

/** GET `url` answers 200 (a /readyz probe) */
export async function answers200(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  await res?.body?.cancel();
  return res?.status === 200;
}

/** a call of the gateway's admin API with the tests' ADMIN_TOKEN; throws on a status ≥ 300 */
export async function admin(base: string, method: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status}`);
  return res.json();
}

export interface Receiver {
  /** ids of the message pushes received, in order, over every socket it had */
  ids: number[];
  /** the feed seq of each of `ids` */
  seqs: number[];
  /** the last counter frames received */
  counters: { dialogs?: number; messages?: { count: number; dialog_id: number } };
  /** sync answers that said `resync_required` */
  resyncs(): number;
  /** sockets opened so far (1 + reconnects) */
  connections(): number;
  stop(): Promise<void>;
}

/** a client that stays connected: on close it reconnects to the next gateway that answers, with `since` */
export function resilientReceiver(userId: number, urls: string[]): Receiver {
  const ids: number[] = [];
  const seqs: number[] = [];
  let lastSeq = 0;
  let sock: TestSocket | undefined;
  let stopped = false;
  let resyncs = 0;
  let connections = 0;
  let turn = 0;
  const counters: Receiver['counters'] = {};
  const stop = async () => {
    stopped = true;
    clients.delete(self);
    await sock?.close();
    await loop;
  };
  const self = { abandon: stop };
  clients.add(self);
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
      if (stopped) {
        await sock.close();
        break;
      }
      connections++;
      const s = sock;
      s.ws.on('message', (data) => {
        const f = JSON.parse(String(data));
        if (f.event === 'sync' && f.data?.resync_required) resyncs++;
        if (typeof f.seq !== 'number') return;
        lastSeq = Math.max(lastSeq, f.seq);
        if (f.event === 'dialogs.messages.create') {
          ids.push(f.data.id);
          seqs.push(f.seq);
        }
        if (f.event === 'notifications.dialogs.count') counters.dialogs = f.data;
        if (f.event === 'notifications.dialogs.messages.count') counters.messages = f.data;
      });
      await s.closed;
    }
  })();
  return {
    ids,
    seqs,
    counters,
    resyncs: () => resyncs,
    connections: () => connections,
    stop,
  };
}

export interface Sender {
  /** ids of the messages answered, in the order they were sent */
  sent: number[];
  /** finish the message in flight (until it is answered), then stop */
  stop(): Promise<void>;
}

/**
 * `userId` sends `m<i>` to `dialogId` one after another, `paceMs` apart; each is retried with its
 * `client_id` (on a new socket, to the next gateway, when the socket went away) until it is answered
 */
export function steadySender(opts: {
  urls: string[];
  userId: number;
  dialogId: number;
  paceMs: number;
}): Sender {
  const sent: number[] = [];
  let sender: TestSocket | undefined;
  let stop = false;
  let abandoned = false;
  let turn = 0;
  const self = {
    async abandon() {
      stop = abandoned = true;
      clients.delete(self);
      await sender?.close();
      await sending;
    },
  };
  clients.add(self);
  const sending = (async () => {
    for (let i = 1; !stop; i++) {
      while (!abandoned) {
        try {
          if (!sender || sender.ws.readyState !== sender.ws.OPEN) {
            sender = await connectWs(opts.urls[turn++ % opts.urls.length] as string, {
              token: await mintToken(opts.userId),
            });
          }
          const r = await sender.request(
            { event: 'dialogs.messages.create', dialog_id: opts.dialogId, body: `m${i}`, client_id: `c${i}` },
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
      await sleep(opts.paceMs);
    }
  })();
  return {
    sent,
    async stop() {
      stop = true;
      clients.delete(self);
      await sending;
      await sender?.close();
    },
  };
}

/**
 * Wait for the end of a stream: the last message at every receiver, then an e-mail for every message
 * (not asserted here: a test reports what is still missing after `mailTimeoutMs`)
 */
export async function awaitDeliveries(opts: {
  receivers: Receiver[];
  sent: number[];
  mailIds: () => string[];
  /** the Message-ID of the e-mail for a message */
  idOf: (messageId: number) => string;
  mailTimeoutMs?: number;
}): Promise<void> {
  const last = opts.sent.at(-1) as number;
  await waitFor(() => opts.receivers.every((r) => r.ids.includes(last)), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: 'every receiver to get the last message',
  });
  await waitFor(() => opts.sent.every((id) => opts.mailIds().includes(opts.idOf(id))), {
    timeoutMs: opts.mailTimeoutMs ?? 90_000,
    intervalMs: 250,
    what: 'an e-mail for every message',
  }).catch(() => undefined);
}

export interface Truth {
  /** the dialog's stored message ids, oldest first */
  stored: number[];
  /** the dialog's message count as the history answers it */
  total: number;
  /** `notifications.dialogs.count` now */
  dialogs: number;
  /** `notifications.dialogs.messages.count` of the dialog now */
  messages: { count: number; dialog_id: number };
}

/**
 * What dialogs answers `userId` now through the gateway at `url` (once its /readyz answers 200: the
 * last kill of a test may have left it starting again): every page of the dialog, and the counters
 */
export async function truthOf(url: string, userId: number, dialogId: number): Promise<Truth> {
  await waitFor(async () => answers200(`${url}/readyz`), {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: `${url} to be ready for the check`,
  });
  const check = await connectWs(url, { token: await mintToken(userId) });
  try {
    const stored: number[] = [];
    let total = -1;
    for (let before: number | undefined; ; ) {
      const page = await check.request(
        {
          event: 'dialogs.messages.load',
          dialog_id: dialogId,
          limit: 100,
          ...(before ? { before_id: before } : {}),
        },
        10_000,
      );
      total = page.meta.total;
      if (page.data.length === 0) break;
      stored.unshift(...page.data.map((m: { id: number }) => m.id));
      before = page.data[0].id;
    }
    const dialogs = (await check.request({ event: 'notifications.dialogs.count' }, 10_000)).data;
    const messages = (
      await check.request({ event: 'notifications.dialogs.messages.count', dialog_id: dialogId }, 10_000)
    ).data;
    return { stored, total, dialogs, messages };
  } finally {
    await check.close();
  }
}

/** whether a receiver's last counter frames equal the truth */
export const countersTrue = (r: Receiver, truth: Truth): boolean =>
  r.counters.dialogs === truth.dialogs &&
  JSON.stringify(r.counters.messages) === JSON.stringify(truth.messages);
