/**
 * The built gateway (`services/gateway/dist/main.js`) as a child process, for tests that must prove
 * it did not crash (an in-process gateway would take the test runner down with it, or hide an
 * unhandled rejection): its exit, its stdout log lines and its resident memory are observable.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsUrl, waitFor } from '@parley/testing';
import { ADMIN_TOKEN, JWT_SECRET, PRESENCE_ENV } from './helpers.js';

const root = join(import.meta.dirname, '../../..');

export interface GatewayProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  url: string;
  /** stdout so far (pino JSON lines) */
  output(): string;
  /** still running (no exit, no signal) */
  alive(): boolean;
  /** resident set size in bytes (Linux /proc) */
  rssBytes(): number;
  /** SIGTERM, then SIGKILL if it lingers; resolves once it exited */
  stop(): Promise<void>;
}

/** `tsc -b services/gateway`, so `dist/main.js` is current (a no-op when it already is). */
export function buildGateway(): void {
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'services/gateway'],
    { cwd: root, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`tsc -b services/gateway failed:\n${build.stdout}${build.stderr}`);
}

export async function spawnGateway(
  prefix: string,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [join(root, 'services/gateway/dist/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      NATS_URL: await natsUrl(),
      SUBJECT_PREFIX: prefix,
      // max_bytes is reserved on the server: the 10 GiB default would let only a few suites run at once
      FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
      JWT_SECRET,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      REQUEST_TIMEOUT_MS: '3000',
      UPGRADES_PER_IP_PER_SEC: '0',
      ...PRESENCE_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (!alive()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const port = await waitFor(
      () => {
        if (!alive()) throw new Error(`gateway exited (${child.exitCode ?? child.signalCode}): ${err}`);
        const m = /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(out);
        return m ? Number(m[1]) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'the gateway process to listen' },
    );
    return {
      child,
      url: `http://127.0.0.1:${port}`,
      output: () => out,
      alive,
      rssBytes() {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
        if (!kb) throw new Error('no VmRSS');
        return Number(kb[1]) * 1024;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
