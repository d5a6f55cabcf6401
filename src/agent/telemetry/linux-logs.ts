import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { type LogGroup, type LogLevel, SEVERITY_NUMBER } from '../../api/index.ts';
import type { SystemAccess } from '../discovery/system-access.ts';
import type { LogEntry } from './otlp-batch.ts';
import { syslogTime } from './syslog-time.ts';

export interface LogSource {
  /** Undefined when the group can be read on this machine; else why not (reported on the host's telemetry status). */
  problem(group: LogGroup): Promise<string | undefined>;
  /**
   * Lines of `group` at `level` or more severe after `cursor` (at most `max`), and the cursor after
   * them. Without a cursor it starts at the end: an agent's first run ships no history.
   */
  read(group: LogGroup, level: LogLevel, cursor: string | undefined, max: number): Promise<{ entries: LogEntry[]; cursor: string | undefined }>;
}

/** journald priorities 0 (emerg) … 7 (debug) as OpenTelemetry severities. */
export function severityOfPriority(p: number): number {
  if (p <= 3) return SEVERITY_NUMBER.error;
  if (p === 4) return SEVERITY_NUMBER.warn;
  if (p <= 6) return SEVERITY_NUMBER.info;
  return SEVERITY_NUMBER.debug;
}

const MAX_PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const JOURNAL_MATCHES: Record<LogGroup, string[]> = { syslog: [], kernel: ['_TRANSPORT=kernel'], auth: ['SYSLOG_FACILITY=4', 'SYSLOG_FACILITY=10'] };
const SYSLOG_FILES: Record<LogGroup, string> = { syslog: '/var/log/syslog', kernel: '/var/log/kern.log', auth: '/var/log/auth.log' };

function messageText(m: unknown): string {
  if (typeof m === 'string') return m;
  if (Array.isArray(m)) return Buffer.from(m.filter((b): b is number => typeof b === 'number')).toString('utf8'); // journald sends binary messages as byte arrays
  return m === undefined || m === null ? '' : String(m);
}

/** The files the syslog fallback reads: size and inode, and a range of bytes. */
export interface LogFiles {
  stat(path: string): Promise<{ ino: number; size: number } | undefined>;
  read(path: string, offset: number, length: number): Promise<Buffer>;
}

export const nodeLogFiles: LogFiles = {
  stat: (p) => stat(p).then((s) => ({ ino: s.ino, size: s.size }), () => undefined),
  async read(p, offset, length) {
    const fh = await open(p, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  },
};

/** Runs journalctl with `args` and answers its first `maxLines` lines (then stops it); undefined when it cannot run. */
export type JournalRunner = (args: string[], maxLines: number) => Promise<string[] | undefined>;

/** journalctl as a child process, read line by line: a burst of entries is read `maxLines` at a time, never all at once. */
export const spawnJournal: JournalRunner = (args, maxLines) =>
  new Promise((resolve) => {
    const child = spawn('journalctl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const lines: string[] = [];
    let done = false;
    const finish = (v: string[] | undefined) => {
      if (done) return;
      done = true;
      child.kill();
      resolve(v);
    };
    child.on('error', () => finish(undefined));
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (l) => {
      lines.push(l);
      if (lines.length >= maxLines) finish(lines);
    });
    rl.on('close', () => finish(lines));
    setTimeout(() => finish(lines), 20_000).unref();
  });

/**
 * Logs from journald (`journalctl --output=json`, following its cursor) where the machine runs it,
 * else from the classic files (/var/log/syslog, kern.log, auth.log, following inode and offset).
 * Plain-file lines carry no priority: a line saying error/fail/crit counts as error, warn as warn,
 * the rest as info; their time is the one the line starts with (RFC 3164 or RFC 3339), or the
 * time of reading when it has none.
 */
export class LinuxLogs implements LogSource {
  private journald?: Promise<boolean>;

  constructor(
    private readonly sys: SystemAccess,
    private readonly files: LogFiles = nodeLogFiles,
    private readonly journal: JournalRunner = spawnJournal,
    private readonly now: () => number = Date.now,
  ) {}

  private hasJournal(): Promise<boolean> {
    this.journald ??= (async () => {
      const dir = (await this.sys.realPath('/run/systemd/journal')) ?? (await this.sys.realPath('/var/log/journal'));
      return dir !== undefined && (await this.journal(['--version'], 1)) !== undefined;
    })();
    return this.journald;
  }

  async problem(group: LogGroup): Promise<string | undefined> {
    if (await this.hasJournal()) return undefined;
    if (await this.files.stat(SYSLOG_FILES[group])) return undefined;
    return `log group ${group}: this machine has no journald and no ${SYSLOG_FILES[group]}`;
  }

  async read(group: LogGroup, level: LogLevel, cursor: string | undefined, max: number): Promise<{ entries: LogEntry[]; cursor: string | undefined }> {
    return (await this.hasJournal()) ? this.readJournal(group, level, cursor, max) : this.readFile(group, level, cursor, max);
  }

  private async readJournal(group: LogGroup, level: LogLevel, cursor: string | undefined, max: number): Promise<{ entries: LogEntry[]; cursor: string | undefined }> {
    const base = ['--output=json', '--no-pager', '--quiet'];
    if (cursor === undefined) {
      // Start at the end: the newest entry's cursor, nothing shipped.
      const last = await this.journal([...base, '-n', '1'], 1);
      const line = last?.[0];
      return { entries: [], cursor: line ? (JSON.parse(line).__CURSOR as string) : '' };
    }
    // Oldest first after the cursor; the runner stops after `max` lines, and the next read goes on from the last one.
    const args = [...base, '-p', `0..${MAX_PRIORITY[level]}`, ...(cursor ? ['--after-cursor', cursor] : []), ...JOURNAL_MATCHES[group]];
    const lines = await this.journal(args, max);
    if (lines === undefined) throw new Error('journalctl could not run');
    const entries: LogEntry[] = [];
    let next = cursor;
    for (const line of lines) {
      if (!line.trim()) continue;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof e.__CURSOR === 'string') next = e.__CURSOR;
      const us = Number(e.__REALTIME_TIMESTAMP);
      const attrs: Record<string, string> = { 'log.source': 'journald' };
      for (const [k, a] of [['_SYSTEMD_UNIT', 'unit'], ['SYSLOG_IDENTIFIER', 'identifier'], ['_PID', 'pid']] as const) if (typeof e[k] === 'string') attrs[a] = e[k] as string;
      entries.push({ t: Number.isFinite(us) ? Math.floor(us / 1000) : this.now(), severity: severityOfPriority(Number(e.PRIORITY ?? 6)), body: messageText(e.MESSAGE), attrs });
    }
    return { entries, cursor: next };
  }

  private async readFile(group: LogGroup, level: LogLevel, cursor: string | undefined, max: number): Promise<{ entries: LogEntry[]; cursor: string | undefined }> {
    const file = SYSLOG_FILES[group];
    const st = await this.files.stat(file);
    if (!st) return { entries: [], cursor };
    let pos = cursor ? (JSON.parse(cursor) as { ino: number; offset: number }) : { ino: st.ino, offset: st.size };
    if (pos.ino !== st.ino || pos.offset > st.size) pos = { ino: st.ino, offset: 0 }; // rotated or truncated: the new file from its start
    const chunk = await this.files.read(file, pos.offset, Math.min(st.size - pos.offset, 1024 * 1024));
    const end = chunk.lastIndexOf(0x0a);
    if (end < 0) return { entries: [], cursor: JSON.stringify(pos) };
    const entries: LogEntry[] = [];
    const now = this.now();
    let used = 0;
    for (const raw of chunk.subarray(0, end + 1).toString('utf8').split('\n')) {
      if (entries.length >= max) break;
      used += Buffer.byteLength(raw) + 1;
      if (!raw.trim()) continue;
      const severity = /\b(err(or)?|fail(ed|ure)?|crit(ical)?|emerg|alert|panic)\b/i.test(raw) ? 17 : /\bwarn(ing)?\b/i.test(raw) ? 13 : 9;
      if (severity < SEVERITY_NUMBER[level]) continue;
      entries.push({ t: syslogTime(raw, now) ?? now, severity, body: raw, attrs: { 'log.source': file } });
    }
    return { entries, cursor: JSON.stringify({ ino: pos.ino, offset: pos.offset + Math.min(used, end + 1) }) };
  }
}
