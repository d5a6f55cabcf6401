import type { Clock } from '../api/clock.ts';

export { type Clock, systemClock } from '../api/clock.ts';

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers run in due order (ties in scheduling order), also
 * those scheduled by a running timer when they fall inside the advanced span.
 * @example const clock = new FakeClock(); clock.setTimeout(() => (fired = true), 1000); clock.advance(1000) // fired
 */
export class FakeClock implements Clock {
  private timers: FakeTimer[] = [];
  private seq = 0;

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: ++this.seq, at: this.current + Math.max(0, ms || 0), fn };
    // Keep sorted by (at, id): insertion after every timer due no later than this one.
    const i = this.timers.findIndex((t) => t.at > timer.at);
    this.timers.splice(i < 0 ? this.timers.length : i, 0, timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way; returns how many ran. */
  advance(ms: number): number {
    const target = this.current + ms;
    let ran = 0;
    while (this.timers.length > 0 && this.timers[0].at <= target) {
      const t = this.timers.shift()!;
      this.current = t.at;
      t.fn();
      ran++;
    }
    this.current = target;
    return ran;
  }

  /** Jumps to the next timer and runs everything due then; returns the time advanced (undefined: none pending). */
  advanceToNext(): number | undefined {
    const delay = this.nextDelay();
    if (delay !== undefined) this.advance(delay);
    return delay;
  }

  /** Runs timers until none is left; throws after `limit` (a timer that keeps rescheduling itself). */
  runAll(limit = 10_000): number {
    let ran = 0;
    while (this.timers.length > 0) {
      if (ran++ >= limit) throw new Error(`FakeClock.runAll: still ${this.timers.length} timer(s) after ${limit} runs; a timer keeps rescheduling itself`);
      this.advance(this.timers[0].at - this.current);
    }
    return ran;
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Milliseconds until the next timer is due (undefined: none pending). */
  nextDelay(): number | undefined {
    return this.timers.length > 0 ? this.timers[0].at - this.current : undefined;
  }
}
