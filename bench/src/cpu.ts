/**
 * Where the CPU went during a phase: each service child, this load generator, the shared MariaDB and
 * nats-server (found in /proc; other users of those servers count too), and the whole machine. Read-only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Child } from './processes.js';

/** USER_HZ: /proc/<pid>/stat times are in these ticks (100 on Linux x86/arm) */
const TICKS_PER_SEC = 100;

interface Probe {
  label: string;
  ms(): number;
}

export interface CpuReading {
  /** e.g. "dialogs 93%, gateway 41%, … (of one core); machine busy 97% of 2 cores" */
  text: string;
  wallMs: number;
  /** CPU time (user + system) each process used during the phase, ms */
  msBy: Record<string, number>;
}

export interface CpuMeter {
  stop(): CpuReading;
}

/** CPU ms per message of each process and their sum, e.g. "dialogs 2.50, … = 7.00 ms/msg" */
export function perMessage(r: CpuReading, messages: number, skip: readonly string[] = ['bench']) {
  const by: Record<string, number> = {};
  let sum = 0;
  for (const [label, ms] of Object.entries(r.msBy)) {
    if (skip.includes(label) || Number.isNaN(ms)) continue;
    by[label] = messages ? ms / messages : Number.NaN;
    sum += by[label]!;
  }
  const text = `${Object.entries(by)
    .map(([l, v]) => `${l} ${v.toFixed(2)}`)
    .join(', ')} = ${sum.toFixed(2)} ms CPU per message`;
  return { by, sum, text };
}

export function startCpuMeter(children: readonly Child[], natsPort: number): CpuMeter {
  const probes: Probe[] = [
    ...children.filter((c) => !c.exited()).map((c) => pidProbe(c.name, c.pid)),
    {
      label: 'bench',
      ms: () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      },
    },
    ...serverProbes(natsPort),
  ];
  const t0 = performance.now();
  const before = probes.map(safe);
  const machine0 = machineTicks();
  return {
    stop() {
      const wall = performance.now() - t0;
      const msBy: Record<string, number> = {};
      probes.forEach((p, i) => {
        msBy[p.label] = (msBy[p.label] ?? 0) + (safe(p) - before[i]!);
      });
      const parts = Object.entries(msBy).map(([l, ms]) => `${l} ${((ms / wall) * 100).toFixed(0)}%`);
      const machine1 = machineTicks();
      const busy = 1 - (machine1.idle - machine0.idle) / Math.max(1, machine1.total - machine0.total);
      return {
        text: `cpu (% of one core): ${parts.join(', ')}; machine busy ${(busy * 100).toFixed(0)}% of ${cpus().length} cores`,
        wallMs: wall,
        msBy,
      };
    },
  };
}

function safe(p: Probe): number {
  try {
    return p.ms();
  } catch {
    return Number.NaN;
  }
}

function pidProbe(label: string, pid: number): Probe {
  return {
    label,
    ms() {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // fields after the parenthesised command name; utime and stime are the 14th and 15th fields
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(rest[11]) + Number(rest[12])) / TICKS_PER_SEC) * 1000;
    },
  };
}

/** the mariadbd, and the nats-server listening on the bench's port */
function serverProbes(natsPort: number): Probe[] {
  const found: Probe[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'mariadbd' || comm === 'mysqld') found.push(pidProbe(comm, Number(entry)));
      if (comm === 'nats-server') {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        const i = args.indexOf('-p');
        const port = i >= 0 ? Number(args[i + 1]) : 4222;
        if (port === natsPort) found.push(pidProbe('nats-server', Number(entry)));
      }
    } catch {
      // the process went away, or is not ours to read
    }
  }
  return found;
}

function machineTicks(): { idle: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  return { idle: (v[3] ?? 0) + (v[4] ?? 0), total: v.reduce((a, b) => a + b, 0) };
}
