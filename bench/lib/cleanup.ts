import type { ChildProcess } from 'node:child_process';

type Undo = () => unknown;

const undos: Undo[] = [];
const children = new Set<ChildProcess>();
let installed = false;

/**
 * Everything the benchmark must undo however it ends: child processes are SIGKILLed on exit
 * (synchronously, so even an uncaught error leaves none behind); async undos (drop a database,
 * remove a directory) run in `runCleanup()` and on SIGINT/SIGTERM.
 */
export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Registers an undo; returns a function that runs it once and unregisters it. */
export function deferCleanup(undo: Undo): () => Promise<void> {
  install();
  undos.push(undo);
  return async () => {
    const i = undos.indexOf(undo);
    if (i < 0) return;
    undos.splice(i, 1);
    await undo();
  };
}

/** Kills every tracked child and runs every pending undo, newest first. */
export async function runCleanup(): Promise<void> {
  killChildren();
  while (undos.length > 0) {
    const undo = undos.pop()!;
    try {
      await undo();
    } catch (e) {
      process.stderr.write(`cleanup failed: ${(e as Error).message}\n`);
    }
  }
}

function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: cleaning up…\n`);
      void runCleanup().finally(() => process.exit(130));
    });
  }
}
