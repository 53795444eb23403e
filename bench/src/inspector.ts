/**
 * A child started with `--inspect=127.0.0.1:<port>`, driven over the DevTools protocol: force a full GC
 * and read the V8 heap in use. Lets memory per socket be read as what is retained, not what is not yet
 * collected. Only for the memory phase's own processes.
 */
import WebSocket from 'ws';

export interface Inspector {
  /** a full, synchronous garbage collection in the child */
  collectGarbage(): Promise<void>;
  /** V8 heap in use, bytes */
  heapUsed(): Promise<number>;
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
  const ws = new WebSocket(target, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let seq = 0;
  const waiting = new Map<number, (result: Record<string, unknown>) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result ?? {});
  });
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++seq;
      const timer = setTimeout(() => reject(new Error(`inspector: ${method} timed out`)), 15_000);
      waiting.set(id, (r) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(r);
      });
      ws.send(JSON.stringify({ id, method }));
    });
  return {
    async collectGarbage() {
      await call('HeapProfiler.collectGarbage');
    },
    async heapUsed() {
      return Number((await call('Runtime.getHeapUsage')).usedSize);
    },
    close: () => ws.close(),
  };
}
