/**
 * A reconcile ran past the controller's `timeoutMs`. Its signal was aborted with this error and the
 * attempt counts as `retry`. Reconcilers should pass the signal to every call that can wait; one that
 * ignores it keeps its key (no other worker takes it) until it returns.
 * @example if (signal.reason instanceof ReconcileTimeoutError) …
 */
export class ReconcileTimeoutError extends Error {
  constructor(
    readonly controller: string,
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super(`reconcile timed out after ${timeoutMs} ms`);
    this.name = 'ReconcileTimeoutError';
  }
}

/**
 * The controller is stopping: in-flight reconciles see their signal aborted with this error and
 * should return promptly; their results are not acted on (the next start resyncs everything).
 * @example if (signal.reason instanceof ControllerStoppedError) return done()
 */
export class ControllerStoppedError extends Error {
  constructor(readonly controller: string) {
    super(`controller ${controller} is stopping`);
    this.name = 'ControllerStoppedError';
  }
}
