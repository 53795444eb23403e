/** JetStream's "no such thing" answers (consumer 10014, message 10037, stream 10059, or a bare 404). */
export function isJsNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number } } | null | undefined;
  const code = e?.api_error?.err_code;
  return e?.code === '404' || code === 10014 || code === 10037 || code === 10059;
}
