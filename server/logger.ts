// The AMS's log lines on stderr (stdout carries only the ready line): readable lines on a
// terminal (pino-pretty, in-process and synchronous), structured JSON otherwise or on request.
import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

/** Paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'password', '*.password', 'token', '*.token', 'access_token', '*.access_token', 'refresh_token', '*.refresh_token',
  'seed', '*.seed', 'jwt', '*.jwt', 'creds', '*.creds', 'secret', '*.secret', 'authorization', '*.authorization',
  'headers.authorization', 'req.headers.authorization', 'headers.cookie', 'dbUrl', '*.dbUrl',
];

export type LogFormat = 'json' | 'pretty';

/** `--log-format` when given, else readable lines for a person at a terminal and JSON for programs. */
export function pickLogFormat(requested: LogFormat | undefined, stderrIsTTY: boolean): LogFormat {
  return requested ?? (stderrIsTTY ? 'pretty' : 'json');
}

/** Readable lines: time, level, message, then the fields on the same line. */
export function prettyDestination(opts: { colorize: boolean; fd?: number }): pino.DestinationStream {
  return pinoPretty({
    destination: opts.fd ?? 2,
    sync: true,
    colorize: opts.colorize,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
}

export function createLogger(level: string, destination: pino.DestinationStream = pino.destination({ dest: 2, sync: true })): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, service: 'ams' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/** The process's logger on stderr in the chosen format. */
export function createTerminalLogger(level: string, format: LogFormat, colorize: boolean): Logger {
  return createLogger(level, format === 'pretty' ? prettyDestination({ colorize }) : undefined);
}
