/**
 * pino, JSON lines on stdout; child loggers carry ids. Tokens, authorization,
 * passwords, query strings and message bodies are redacted wherever they sit.
 */
import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'token',
  'authorization',
  'password',
  'body',
  'markdown_body',
  'query',
  'claims',
  '*.token',
  '*.authorization',
  '*.password',
  '*.body',
  '*.markdown_body',
  '*.query',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'headers["sec-websocket-protocol"]',
  'message.body',
  'message.markdown_body',
  'params.body',
  // driver errors (mysql2, TypeORM's QueryFailedError) carry the SQL with its values: message bodies
  'err.sql',
  'err.parameters',
  'err.driverError.sql',
  'err.driverError.parameters',
];

export interface LoggerConfig {
  name: string;
  level?: string;
  pretty?: boolean;
  /** where to write; stdout by default (tests pass a stream to capture) */
  destination?: pino.DestinationStream;
}

export function createLogger(cfg: LoggerConfig): Logger {
  const options: LoggerOptions = {
    name: cfg.name,
    level: cfg.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: cfg.name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
  };
  if (cfg.destination) return pino(options, cfg.destination);
  if (cfg.pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  }
  return pino(options);
}

/** A logger that writes nothing (tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
