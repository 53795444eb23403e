/** What every scenario gets: the running system, a seeding client, a token minter, NATS and the bench database. */
import type { Pool } from 'mysql2/promise';
import type { NatsConnection } from 'nats';
import type { CpuReading } from './cpu.js';
import type { Admin } from './seed.js';
import type { System } from './system.js';

export interface BenchContext {
  sys: System;
  admin: Admin;
  mint(userId: number): Promise<string>;
  nc: NatsConnection;
  natsUrl: string;
  /** a pool (16 connections) on the bench database, the one the dialogs service migrated */
  db: Pool;
  /** the gateway's WebSocket URL for a user */
  wsUrlFor(userId: number): Promise<string>;
  log(line: string): void;
  /** run a phase and say where the CPU went meanwhile (the line is logged too) */
  cpuDuring<T>(run: () => Promise<T>): Promise<{ value: T; cpu: string; reading: CpuReading }>;
  /** figures that are not table rows (the rate ladder, CPU per message): carried by the JSON line */
  extra: Record<string, unknown>;
}

/** One measured figure, Parley next to what it is compared with. */
export interface Finding {
  metric: string;
  unit: string;
  /** which direction is good */
  better: 'higher' | 'lower';
  parley: number;
  /** measured in this run, on this machine */
  baseline?: { value: number; what: string };
  /** the replaced stack's figure from TOOLCHAIN.md ("Measured baselines") */
  reference?: number;
  note?: string;
}
