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
  'headers["x-slack-signature"]',
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

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 6);
  const scrub = (value: string) => secrets.reduce((acc, s) => acc.split(s).join('[REDACTED]'), value);
  return pino(
    {
      name: options.name ?? 'conductor',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
    },
    options.destination ?? pino.destination(2),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
