import { pino, type Logger } from 'pino';

/** Paths pino redacts in every log line: broker credentials must never reach a log. */
export const REDACT_PATHS = [
  'apiKey', 'secret', 'password', 'token', 'privateKey',
  '*.apiKey', '*.secret', '*.password', '*.token', '*.privateKey', '*.headers.authorization',
  'broker.apiKey', 'broker.secret', 'credentials', '*.credentials',
];

/** Warden's default operational logger: warnings and worse, to stderr, credentials redacted. */
export function createDefaultLogger(): Logger {
  return pino({ name: 'warden', level: 'warn', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination(2));
}

export type { Logger };
