import { pino, type Logger } from 'pino';

/**
 * Paths pino redacts in every log line: broker credentials must never reach a log.
 *
 * @example
 * const logger = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
 */
export const REDACT_PATHS = [
  'apiKey', 'secret', 'password', 'token', 'privateKey',
  '*.apiKey', '*.secret', '*.password', '*.token', '*.privateKey', '*.headers.authorization',
  'broker.apiKey', 'broker.secret', 'credentials', '*.credentials',
];

/**
 * Warden's operational logger: by default warnings and worse to stderr; `destination` a file
 * descriptor or path, `level` any pino level. Credentials are always redacted.
 *
 * @example
 * const logger = createDefaultLogger({ level: 'info', destination: 'data/warden.log' });
 */
export function createDefaultLogger(options: { level?: string; destination?: number | string } = {}): Logger {
  return pino(
    { name: 'warden', level: options.level ?? 'warn', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    pino.destination(typeof options.destination === 'string' ? { dest: options.destination, mkdir: true, sync: true } : (options.destination ?? 2)),
  );
}

export type { Logger };
