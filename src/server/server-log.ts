import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ServerLogOptions {
  /** pino level. @default 'info' */
  level?: string;
  /** `pretty`: one readable line per record; `json`: one JSON object per line. @default pretty on a terminal, json otherwise */
  format?: LogFormat;
  /** Where the lines go. @default process.stdout */
  destination?: NodeJS.WritableStream & { isTTY?: boolean; fd?: number };
}

/** The format when none is asked for: a person reads a terminal; anything else (a file, journald, a collector) gets JSON. */
export const defaultLogFormat = (isTTY: boolean | undefined): LogFormat => (isTTY ? 'pretty' : 'json');

// Secrets never reach a log line: tokens only travel in headers, which are not logged; these paths
// catch anything that would carry one by accident.
const REDACT = ['req.headers.authorization', 'headers.authorization', ...['token', 'sshKey', 'password', 'bmcPassword'].flatMap((k) => [k, `*.${k}`])];

/**
 * The server's logger. Pretty lines look like `10:04:05.123 INFO  eim listening on http://127.0.0.1:8080 (…)`,
 * other fields after the message on the same line; JSON lines are pino's (`{"level":30,"time":…,"msg":…}`).
 * @example const log = createServerLog({ level: 'info', format: 'json' })
 */
export function createServerLog(o: ServerLogOptions = {}): Logger {
  const destination = o.destination ?? process.stdout;
  const format = o.format ?? defaultLogFormat(destination.isTTY);
  const options = { level: o.level ?? 'info', base: undefined, redact: { paths: REDACT, censor: '[redacted]' } };
  if (format === 'json') return destination === process.stdout ? pino(options) : pino(options, destination);
  const stream = pretty({
    destination,
    sync: true,
    colorize: destination.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // An error on the same line: its type, message and where it was thrown (the stack is in the JSON format).
    ignore: 'pid,hostname,err',
    // A newline inside a message would split the record: written as \n.
    messageFormat: (record, messageKey) => `${String(record[messageKey] ?? '')}${record.err ? `: ${errorInOneLine(record.err)}` : ''}`.replace(/\r?\n/g, '\\n'),
  });
  return pino(options, stream);
}

function errorInOneLine(e: unknown): string {
  if (!e || typeof e !== 'object') return String(e);
  const { type, message, stack } = e as { type?: string; message?: string; stack?: string };
  const at = stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim();
  return `${type ?? 'Error'}: ${message ?? ''}${at ? ` (${at})` : ''}`;
}
