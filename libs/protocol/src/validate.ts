import type { z } from 'zod';
import { type FieldReason, ParleyError } from './errors.js';

/** Parse `input` with `schema`; the first problem becomes a `validation_error` naming its field. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, fieldPrefix?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = (issue?.path ?? []).filter((p) => typeof p === 'string' || typeof p === 'number');
  // internal requests wrap client parameters in `params`: report the client's field name
  const fieldPath = path[0] === 'params' && path.length > 1 ? path.slice(1) : path;
  const field = fieldPath.length ? String(fieldPath[0]) : (fieldPrefix ?? 'params');
  let reason: FieldReason = 'invalid';
  if (issue && valueAt(input, path) === undefined && path.length > 0) reason = 'required';
  else if (issue?.code === 'too_big' && issue.origin === 'string') reason = 'too_long';
  throw ParleyError.invalid(field, reason);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}
