/**
 * PROTOCOL.md §7: "a `.env` file may supply them in development". The services' start path
 * (loadConfig) reads `./.env` when it exists, with Node's own parser (util.parseEnv), and never
 * overrides a variable the environment already has. Not in production, where the environment is the
 * only source.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** Fill `env` (default process.env) from `path`, missing variables only; returns whether a file was read. */
export function loadDotEnv(path = '.env', env: Record<string, string | undefined> = process.env): boolean {
  if (env.NODE_ENV === 'production' || !existsSync(path)) return false;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(path, 'utf8')))) {
    if (env[name] === undefined) env[name] = value;
  }
  return true;
}
