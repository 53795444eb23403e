/**
 * The floor a gateway is compared with: a bare `ws` server, same Node, same `ws` options as the gateway's
 * (no deflate, error listener per socket), nothing else. `node floor-ws.js <port> [nats-url prefix]`:
 * with NATS, each socket `?u=<id>` subscribes to `<prefix>.floor.<id>` and a frame `{"to": id, ...}` is
 * published there: the cheapest socket → NATS → socket path, to compare delivery latency with.
 */
import { createServer } from 'node:http';
import { connect, type NatsConnection } from 'nats';
import { WebSocketServer } from 'ws';

const [portArg, natsUrl, prefix] = process.argv.slice(2);
const nc: NatsConnection | null = natsUrl ? await connect({ servers: natsUrl, name: 'bench-floor' }) : null;
const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({
  server,
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: 256 * 1024,
});

wss.on('connection', (ws, req) => {
  ws.on('error', () => undefined);
  if (!nc) return;
  const user = new URL(req.url ?? '/', 'http://floor.invalid').searchParams.get('u') ?? '0';
  const sub = nc.subscribe(`${prefix}.floor.${user}`, {
    callback: (_err, msg) => ws.send(msg.data),
  });
  ws.on('message', (data) => {
    const text = String(data);
    const to = (JSON.parse(text) as { to?: number }).to;
    nc.publish(`${prefix}.floor.${to}`, Buffer.from(text));
  });
  ws.on('close', () => sub.unsubscribe());
});

server.listen(Number(portArg), '127.0.0.1');
const stop = () => {
  wss.close();
  server.close();
  void (nc ? nc.drain() : Promise.resolve()).finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
