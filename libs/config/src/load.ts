import { join } from 'node:path';
import { ConfigError, type ConfigOf, type ConfigSpec, parseConfig } from './define.js';
import { loadDotEnv } from './dotenv.js';

/**
 * For main.ts only: parse process.env (plus ./.env in development) against the spec; on any problem print
 * them all to stderr and exit 78 (EX_CONFIG).
 */
export function loadConfig<S extends ConfigSpec>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
): { config: ConfigOf<S>; warnings: string[] } {
  // npm sets INIT_CWD to where it was started: `npm start` at the root reads the root's .env
  if (env === process.env) loadDotEnv(join(env.INIT_CWD ?? '.', '.env'), env);
  try {
    return parseConfig(spec, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
