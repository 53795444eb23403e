/**
 * Prometheus metrics of one gateway instance, on a registry of its own (never the global default
 * registry, so two gateways in one process do not clash). Label values come from closed sets.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type FrameOutcome = 'ok' | 'error' | 'rate_limited';

export interface GatewayMetrics {
  registry: Registry;
  connections: Gauge<'kind'>;
  frames: Counter<'event' | 'outcome'>;
  requestSeconds: Histogram<'event'>;
  closes: Counter<'code'>;
  pushes: Counter<'event'>;
  feedGapsFilled: Counter;
  syncs: Counter<'outcome'>;
  http: Counter<'route' | 'status'>;
  upgradesRefused: Counter<'status'>;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    connections: new Gauge({
      name: 'parley_gateway_connections',
      help: 'open WebSocket connections (kind=sockets) and users with one here (kind=users)',
      labelNames: ['kind'],
      registers,
    }),
    frames: new Counter({
      name: 'parley_gateway_frames_total',
      help: 'client frames by event and outcome',
      labelNames: ['event', 'outcome'],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'parley_gateway_request_seconds',
      help: 'time from a client frame to its answer, by event',
      labelNames: ['event'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    closes: new Counter({
      name: 'parley_gateway_closes_total',
      help: 'sockets closed by the server, by close code',
      labelNames: ['code'],
      registers,
    }),
    pushes: new Counter({
      name: 'parley_gateway_push_frames_total',
      help: 'push frames written to sockets, by event',
      labelNames: ['event'],
      registers,
    }),
    feedGapsFilled: new Counter({
      name: 'parley_gateway_feed_gaps_filled_total',
      help: 'live feed entries this gateway missed (NATS reconnect) and read back from the feed stream',
      registers,
    }),
    syncs: new Counter({
      name: 'parley_gateway_syncs_total',
      help: '`sync` requests by outcome (latest, replayed, resync_required)',
      labelNames: ['outcome'],
      registers,
    }),
    http: new Counter({
      name: 'parley_gateway_http_requests_total',
      help: 'HTTP API requests by route and status',
      labelNames: ['route', 'status'],
      registers,
    }),
    upgradesRefused: new Counter({
      name: 'parley_gateway_upgrades_refused_total',
      help: 'WebSocket upgrades refused before the handshake, by HTTP status',
      labelNames: ['status'],
      registers,
    }),
  };
}
