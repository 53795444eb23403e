/**
 * A child started with `--inspect=127.0.0.1:<port>`, driven over the DevTools protocol: force a full GC
 * and read the V8 heap in use. Lets memory per socket be read as what is retained, not what is not yet
 * collected. Only for the memory phase's own processes. A heap snapshot can be written to a file
 * (`BENCH_HEAP_DIR`, read with bench/heap-diff.mjs).
 */
import { createWriteStream } from 'node:fs';
import WebSocket from 'ws';

export interface Inspector {
  /** a full, synchronous garbage collection in the child */
  collectGarbage(): Promise<void>;
  /** V8 heap in use, bytes */
  heapUsed(): Promise<number>;
  /** the child's process.memoryUsage() (bytes) */
  memoryUsage(): Promise<NodeJS.MemoryUsage>;
  /** a V8 heap snapshot of the child into `file` (object ids are stable between snapshots of one child) */
  takeHeapSnapshot(file: string): Promise<void>;
  close(): void;
}

export async function connectInspector(port: number, timeoutMs = 10_000): Promise<Inspector> {
  const deadline = Date.now() + timeoutMs;
  let target: string | undefined;
  while (!target) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(1_000) });
      target = ((await res.json()) as { webSocketDebuggerUrl: string }[])[0]?.webSocketDebuggerUrl;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const ws = new WebSocket(target, { perMessageDeflate: false, maxPayload: 0 });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let seq = 0;
  const waiting = new Map<number, (result: Record<string, unknown>) => void>();
  let onChunk: ((chunk: string) => void) | undefined;
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as {
      id?: number;
      method?: string;
      params?: { chunk?: string };
      result?: Record<string, unknown>;
    };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result ?? {});
    else if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') onChunk?.(msg.params?.chunk ?? '');
  });
  const call = (method: string, params?: Record<string, unknown>, ms = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++seq;
      const timer = setTimeout(() => reject(new Error(`inspector: ${method} timed out`)), ms);
      waiting.set(id, (r) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(r);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async collectGarbage() {
      await call('HeapProfiler.collectGarbage');
    },
    async heapUsed() {
      return Number((await call('Runtime.getHeapUsage')).usedSize);
    },
    async memoryUsage() {
      const r = await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      return JSON.parse(String((r.result as { value: string }).value)) as NodeJS.MemoryUsage;
    },
    async takeHeapSnapshot(file) {
      const out = createWriteStream(file);
      onChunk = (chunk) => out.write(chunk);
      try {
        await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 300_000);
      } finally {
        onChunk = undefined;
        await new Promise<void>((resolve, reject) =>
          out.end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
      }
    },
    close: () => ws.close(),
  };
}
