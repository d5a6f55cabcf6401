/** Where the agent says what it does. Lines, not JSON: an edge operator reads them in journalctl. */
export interface AgentLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Writes `<ISO time> <level> <message>` lines to a stream (stderr by default).
 * @example const log = streamLog(); log.info('enrolled')
 */
export function streamLog(stream: NodeJS.WritableStream = process.stderr, now: () => number = Date.now): AgentLog {
  const write = (level: string, message: string) => stream.write(`${new Date(now()).toISOString()} ${level} ${message}\n`);
  return { info: (m) => write('info ', m), warn: (m) => write('warn ', m), error: (m) => write('error', m) };
}

/** Keeps lines in memory (tests, and the simulator, which must not print for 10,000 agents). */
export class MemoryLog implements AgentLog {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(`info ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warn ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error ${message}`);
  }
}
