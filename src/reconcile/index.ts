export { type Clock, systemClock, FakeClock } from './clock.ts';
export { Backoff, type BackoffOptions, type CompiledBackoffOptions, compileBackoffOptions } from './backoff.ts';
export { RateLimiter, type RateLimitOptions } from './rate-limiter.ts';
export { WorkQueue, type WorkQueueOptions } from './work-queue.ts';
export { type Result, done, requeueAfter, retry, terminal, asError } from './result.ts';
export { StatusReporter, type StatusReporterOptions, TERMINAL_SUFFIX } from './status-reporter.ts';
export { Controller, type ControllerOptions, type ControllerStats, type ReconcileContext } from './controller.ts';
export { ReconcileTimeoutError, ControllerStoppedError } from './errors.ts';
