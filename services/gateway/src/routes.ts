/**
 * Client event → NATS request, one table. Every client event is served by `dialogs` under its own
 * name with the caller's identity beside the validated parameters (libs/protocol rpc.ts).
 */
import type { RequestOptions, RpcClient } from '@parley/bus';
import type { Caller, ClientEvent, ClientParams, RpcReply, RpcRequest, RpcResponse } from '@parley/protocol';

export const EVENT_ROUTES: { readonly [E in ClientEvent]: E } = {
  'dialogs.load': 'dialogs.load',
  'dialogs.messages.load': 'dialogs.messages.load',
  'dialogs.messages.create': 'dialogs.messages.create',
  'dialogs.messages.seen': 'dialogs.messages.seen',
  'notifications.dialogs.count': 'notifications.dialogs.count',
  'notifications.dialogs.messages.count': 'notifications.dialogs.messages.count',
  'users.status.online': 'users.status.online',
  'dialogs.messages.search.id': 'dialogs.messages.search.id',
  'notifications.dialogs.awaiting.count': 'notifications.dialogs.awaiting.count',
};

export function forward<E extends ClientEvent>(
  rpc: RpcClient,
  event: E,
  params: ClientParams[E],
  opts: { caller: Caller; requestId: string; timeoutMs?: number },
): Promise<RpcReply<RpcResponse<E>>> {
  const request: RequestOptions = { requestId: opts.requestId };
  if (opts.timeoutMs !== undefined) request.timeoutMs = opts.timeoutMs;
  // validated output is a valid input of the same schema (dialogs validates it again)
  const payload = { caller: opts.caller, params } as unknown as RpcRequest<E>;
  return rpc.request(EVENT_ROUTES[event], payload, request);
}
