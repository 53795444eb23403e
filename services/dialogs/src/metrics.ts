/**
 * The dialogs service's Prometheus registry, served on METRICS_PORT next to /healthz and /readyz:
 * prom-client's process metrics (CPU, memory, event-loop lag, GC), which say the most about the
 * service that renders markdown and waits on the database, and the group commit's counters. The
 * process metrics start an event-loop monitor and a GC observer for the life of the process, so
 * app.ts creates them only when the endpoint is on.
 */
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import type { GroupCommitStats } from './db/group-commit.js';

export function createDialogsMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const groups = new Counter({
    name: 'parley_dialogs_group_commits_total',
    help: 'transactions that carried several message creates, by outcome (committed, or rolled back and each create run alone)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const members = new Counter({
    name: 'parley_dialogs_group_commit_members_total',
    help: 'message creates carried by those transactions, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const groupStats: GroupCommitStats = {
    committed: (n) => {
      groups.inc({ outcome: 'committed' });
      members.inc({ outcome: 'committed' }, n);
    },
    fellBack: (n) => {
      groups.inc({ outcome: 'fell_back' });
      members.inc({ outcome: 'fell_back' }, n);
    },
  };
  return { registry, groupStats };
}

export type DialogsMetrics = ReturnType<typeof createDialogsMetrics>;
