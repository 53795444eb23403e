import { ConfigError, type ConfigOf, type ConfigSpec, parseConfig } from './define.js';

/**
 * For main.ts only: parse process.env against the spec; on any problem print
 * them all to stderr and exit 78 (EX_CONFIG).
 */
export function loadConfig<S extends ConfigSpec>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
): { config: ConfigOf<S>; warnings: string[] } {
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
