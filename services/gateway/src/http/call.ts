/** An HTTP API call forwarded to `dialogs`: validated here with the command's own schema first. */
import type { RpcClient } from '@parley/bus';
import {
  type RpcCommand,
  type RpcReply,
  type RpcRequest,
  type RpcResponse,
  rpcRequests,
  validate,
} from '@parley/protocol';

export async function call<C extends RpcCommand>(
  rpc: RpcClient,
  command: C,
  input: unknown,
  requestId: string,
): Promise<RpcReply<RpcResponse<C>>> {
  const parsed = validate(rpcRequests[command], input);
  // the parsed output is a valid input of the same schema (dialogs validates it again)
  return rpc.request(command, parsed as unknown as RpcRequest<C>, { requestId });
}
