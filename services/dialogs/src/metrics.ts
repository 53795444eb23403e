/**
 * The dialogs service's Prometheus registry, served on METRICS_PORT next to /healthz and /readyz. No
 * counters of its own yet: prom-client's process metrics (CPU, memory, event-loop lag, GC), which
 * say the most about the service that renders markdown and waits on the database. They start an
 * event-loop monitor and a GC observer for the life of the process, so app.ts creates them only
 * when the endpoint is on.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export function createDialogsMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { registry };
}

export type DialogsMetrics = ReturnType<typeof createDialogsMetrics>;
