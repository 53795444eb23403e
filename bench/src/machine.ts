/** The facts a figure means nothing without: CPU, memory, versions, and how busy the machine already was. */
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { Pool } from 'mysql2/promise';
import type { NatsConnection } from 'nats';

export async function machineFacts(db: Pool, nc: NatsConnection): Promise<string[]> {
  const [rows] = (await db.query('SELECT VERSION() AS v')) as unknown as [{ v: string }[]];
  const cpu = cpus();
  return [
    `cpu: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}; memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB; linux ${release()}`,
    `node ${process.version}; MariaDB ${rows[0]?.v}; nats-server ${nc.info?.version ?? '?'}`,
    `load average before the run: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  ];
}

export const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
