/**
 * A private three-node NATS JetStream cluster from the local `nats-server` binary, for tests of
 * replication, node outages and replica upgrades (the shared server is a single node). Routes on
 * loopback ports, JetStream with its own store directory on each node; ready when the monitoring
 * port of every node reports a meta leader (`/jsz`) — streams created before that are refused.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nats.js';
import { hasBinary, NO_SERVERS_HELP } from './servers.js';
import { waitFor } from './wait-for.js';

export interface ClusterNode {
  name: string;
  url: string;
  /** SIGKILL: the node is gone (its store stays) */
  kill(): Promise<void>;
  /** start again on the same ports and store */
  restart(): Promise<void>;
  readonly running: boolean;
}

export interface NatsCluster {
  nodes: ClusterNode[];
  /** every node's client URL (a client given all of them fails over) */
  urls: string[];
  /** resolves once a meta leader is elected and every running node knows it */
  ready(timeoutMs?: number): Promise<void>;
  /** stop every node and delete the stores */
  stop(): Promise<void>;
}

interface NodePorts {
  client: number;
  cluster: number;
  monitor: number;
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  if (!hasBinary('nats-server')) throw new Error(NO_SERVERS_HELP);
  const root = mkdtempSync(join(tmpdir(), 'parley-nats-cluster-'));
  const ports: NodePorts[] = [];
  for (let i = 0; i < size; i++) {
    ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  }
  const clusterName = `parley-${Date.now().toString(36)}`;
  const nodes = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const routes = ports
      .filter((_, j) => j !== i)
      .map((o) => `nats://127.0.0.1:${o.cluster}`)
      .join(',');
    const args = [
      ...['-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor)],
      ...['-n', name, '--cluster_name', clusterName, '--cluster', `nats://127.0.0.1:${p.cluster}`],
      ...['--routes', routes, '-js', '-sd', join(root, name)],
    ];
    let proc: ChildProcess | undefined;
    const node: ClusterNode & { monitor: number } = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      monitor: p.monitor,
      get running() {
        return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
      },
      async kill() {
        const child = proc;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      },
      async restart() {
        proc = spawn('nats-server', args, { stdio: 'ignore' });
        const child = proc;
        // a test process that exits without reaching its cleanup must not leave a node behind (one
        // listener per live node: removed when it exits, so restarts do not pile them up)
        const orphan = () => child.kill('SIGKILL');
        process.once('exit', orphan);
        child.once('exit', () => process.off('exit', orphan));
        await waitFor(async () => (await fetch(`http://127.0.0.1:${p.monitor}/healthz`)).ok, {
          timeoutMs: 15_000,
          intervalMs: 50,
          what: `nats node ${name} listening`,
        });
      },
    };
    return node;
  });
  await Promise.all(nodes.map((n) => n.restart()));
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    async ready(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          for (const n of nodes) {
            if (!n.running) continue;
            const jsz = (await (await fetch(`http://127.0.0.1:${n.monitor}/jsz`)).json()) as {
              meta_cluster?: { leader?: string };
            };
            if (!jsz.meta_cluster?.leader) return false;
          }
          return true;
        },
        { timeoutMs, intervalMs: 100, what: 'a JetStream meta leader' },
      );
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  await cluster.ready();
  return cluster;
}
