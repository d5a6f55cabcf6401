import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** A process's resident set and its peak, in MiB, from /proc/<pid>/status (Linux). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces: utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Busy and total CPU time of the whole machine so far, in clock ticks, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/** CPU seconds all processes named `name` have used so far (those alive now). */
function cpuSecondsOfAll(name: string): number {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== name) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/**
 * Measures how busy processes were while `fn` ran, in % of one core; and the whole machine (in %
 * of one core, out of `cores` × 100) and its PostgreSQL processes (those alive at both ends).
 * @example const { value, cpu } = await cpuWhile([server.pid, process.pid], () => load())
 */
export async function cpuWhile<T>(pids: number[], fn: () => Promise<T>): Promise<{ value: T; cpu: number[]; machine: { busy: number; cores: number; postgres: number } }> {
  const before = pids.map(cpuSecondsOf);
  const m0 = machineTicks();
  const pg0 = cpuSecondsOfAll('postgres');
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const m1 = machineTicks();
  const cores = cpus().length;
  return {
    value,
    cpu: pids.map((pid, i) => (100 * (cpuSecondsOf(pid) - before[i])) / seconds),
    machine: { busy: (100 * cores * (m1.busy - m0.busy)) / (m1.total - m0.total), cores, postgres: (100 * (cpuSecondsOfAll('postgres') - pg0)) / seconds },
  };
}

/** The machine's part of a run's notes: how busy all of it was, and PostgreSQL's part when it ran. */
export function machineNote(m: { busy: number; cores: number; postgres: number }): string {
  return `machine ${Math.round(m.busy)} % of ${m.cores * 100} %${m.postgres >= 1 ? ` (PostgreSQL ${Math.round(m.postgres)} %)` : ''}`;
}
