import { readFileSync } from 'node:fs';

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

/**
 * Measures how busy processes were while `fn` ran, in % of one core.
 * @example const { value, cpu } = await cpuWhile([server.pid, process.pid], () => load())
 */
export async function cpuWhile<T>(pids: number[], fn: () => Promise<T>): Promise<{ value: T; cpu: number[] }> {
  const before = pids.map(cpuSecondsOf);
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  return { value, cpu: pids.map((pid, i) => (100 * (cpuSecondsOf(pid) - before[i])) / seconds) };
}
