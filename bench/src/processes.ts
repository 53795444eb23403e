/**
 * Child processes the bench starts (the four services, the floor servers): spawned from built JS with their
 * own env, stopped by PID (SIGTERM, then SIGKILL after a grace), memory read from /proc/<pid>/status.
 * Every PID is also reported to scripts/bench.mjs over IPC so its watchdog can kill them if this process dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Child {
  name: string;
  pid: number;
  /** resident set size now, KiB (VmRSS) */
  rssKb(): number;
  /** the last few KiB the child wrote to stdout/stderr (for error reports) */
  tail(): string;
  exited(): boolean;
  stop(graceMs?: number): Promise<void>;
}

const TAIL_BYTES = Number(process.env.BENCH_TAIL_BYTES ?? 4096);
const running = new Set<Child>();

export function startChild(
  name: string,
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  nodeArgs: string[] = [],
): Child {
  const proc: ChildProcess = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${name}: could not spawn ${script}`);
  const pid = proc.pid;
  process.send?.({ childPid: pid });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let exitCode: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve();
    }),
  );
  const child: Child = {
    name,
    pid,
    rssKb: () => readRssKb(pid),
    tail: () => out,
    exited: () => exitCode !== undefined,
    async stop(graceMs = 8_000) {
      running.delete(child);
      if (exitCode !== undefined) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
  running.add(child);
  return child;
}

/** Stop every child still running, newest first (the gateway before the services it calls). */
export async function stopAllChildren(): Promise<void> {
  // BENCH_TAILS=1: what each child printed last (warnings of a run that went wrong)
  if (process.env.BENCH_TAILS)
    for (const c of running) console.log(`--- ${c.name} (last ${TAIL_BYTES} bytes)\n${c.tail()}`);
  for (const c of [...running].reverse()) await c.stop();
}

export function readRssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}
