/**
 * Serve a handler table on a queue group: decode → validate (libs/protocol
 * schema of the command) → handler → reply. This wrapper is one of the two
 * places that translate errors: a ParleyError travels in the NATS service-error
 * headers plus a JSON body; anything else is logged and answered `internal`.
 */
import type { Logger } from '@parley/logger';
import {
  ParleyError,
  type RpcCommand,
  type RpcParsed,
  type RpcReply,
  type RpcResponse,
  rpcRequests,
  type ServiceName,
  type Subjects,
  toParleyError,
  validate,
} from '@parley/protocol';
import { type Msg, type NatsConnection, headers as natsHeaders, type Subscription } from 'nats';
import { decode, encode, HEADERS } from './codec.js';
import { Limiter } from './limiter.js';

export interface HandlerContext {
  log: Logger;
  requestId: string | null;
}

export type Handler<C extends RpcCommand> = (
  req: RpcParsed<C>,
  ctx: HandlerContext,
) => Promise<RpcReply<RpcResponse<C>>>;

export type HandlerTable = { [C in RpcCommand]?: Handler<C> };

export interface ServeOptions {
  nc: NatsConnection;
  subjects: Subjects;
  service: ServiceName;
  handlers: HandlerTable;
  logger: Logger;
  /** handlers running at once in this process (default 64) */
  concurrency?: number;
}

export interface Server {
  /** stop taking requests, finish the ones in flight */
  stop(): Promise<void>;
}

export function serve(opts: ServeOptions): Server {
  const limiter = new Limiter(opts.concurrency ?? 64);
  const subs: Subscription[] = [];
  const loops: Promise<void>[] = [];
  for (const command of Object.keys(opts.handlers) as RpcCommand[]) {
    const handler = opts.handlers[command] as Handler<RpcCommand>;
    const sub = opts.nc.subscribe(opts.subjects.rpc(command), { queue: opts.subjects.queue(opts.service) });
    subs.push(sub);
    loops.push(
      (async () => {
        for await (const msg of sub) {
          await limiter.acquire();
          // handle() answers every failure itself; a throw past it (the reply could not be sent) stays here
          void handle(command, handler, msg, opts.logger)
            .catch((err: unknown) => opts.logger.error({ err, command }, 'could not answer a request'))
            .finally(() => limiter.release());
        }
      })(),
    );
  }
  return {
    async stop() {
      await Promise.all(subs.map((s) => s.drain().catch(() => undefined)));
      await Promise.all(loops);
      await limiter.idle();
    },
  };
}

async function handle(command: RpcCommand, handler: Handler<RpcCommand>, msg: Msg, logger: Logger) {
  const requestId = msg.headers?.get(HEADERS.REQUEST_ID) || null;
  const log = logger.child({ command, ...(requestId ? { request_id: requestId } : {}) });
  const started = performance.now();
  try {
    let input: unknown;
    try {
      input = decode(msg.data);
    } catch {
      throw new ParleyError('bad_request', { message: 'request is not valid JSON' });
    }
    const req = validate(rpcRequests[command], input) as RpcParsed<RpcCommand>;
    const reply = await handler(req, { log, requestId });
    msg.respond(encode(reply));
    log.debug({ ms: +(performance.now() - started).toFixed(2) }, 'handled');
  } catch (err) {
    const perr = toParleyError(err);
    if (perr.code === 'internal') log.error({ err }, 'handler failed');
    else log.debug({ code: perr.code, field: perr.field }, 'request refused');
    const h = natsHeaders();
    h.set(HEADERS.SERVICE_ERROR, perr.code);
    h.set(HEADERS.SERVICE_ERROR_CODE, String(perr.status));
    if (requestId) h.set(HEADERS.REQUEST_ID, requestId);
    msg.respond(encode(perr.toBody()), { headers: h });
  }
}
