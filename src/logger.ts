import { type Logger, pino } from 'pino';

export type { Logger };

/** Paths pino blanks in every record: secrets must never reach a log line. */
export const REDACT_PATHS = [
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["x-slack-signature"]',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  '*.headers["x-api-key"]',
  '*.headers["x-slack-signature"]',
  'env.HF_TOKEN',
  'config.slack.botToken',
  'config.slack.signingSecret',
  'config.slack.appToken',
  'config.anthropic.apiKey',
  'config.vast.apiKey',
];

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Literal secret values scrubbed from every message, wherever they appear. */
  secrets?: readonly string[];
  destination?: pino.DestinationStream;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Every spelling a secret can take in a JSON log line: as is, JSON-escaped (once, or twice when a
 * JSON string was logged as a string), and URL-encoded (in a logged URL).
 */
function secretSpellings(secret: string): string[] {
  const once = JSON.stringify(secret).slice(1, -1);
  const twice = JSON.stringify(once).slice(1, -1);
  return [secret, once, twice, encodeURIComponent(secret)];
}

/**
 * Scrubs the finished line rather than the arguments: a secret inside an object field, an error's
 * message, stack or cause, a child's bindings or a format argument is caught wherever pino put it.
 */
function scrubbingDestination(
  destination: pino.DestinationStream,
  secrets: readonly string[],
): pino.DestinationStream {
  if (secrets.length === 0) return destination;
  const spellings = [...new Set(secrets.flatMap(secretSpellings))].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(spellings.map(escapeRegExp).join('|'), 'g');
  return { write: (line: string) => destination.write(line.replace(pattern, '[REDACTED]')) };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 6);
  return pino(
    {
      name: options.name ?? 'conductor',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    scrubbingDestination(options.destination ?? pino.destination(2), secrets),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
