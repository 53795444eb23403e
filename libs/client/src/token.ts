/** The `exp` of a JWT, read without verifying it (the server verifies; the client only plans a refresh). */

/** `exp` in ms since the epoch, or undefined when the token has none or is not a JWT. */
export function tokenExpiryMs(jwt: string): number | undefined {
  const part = jwt.split('.')[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='))) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
