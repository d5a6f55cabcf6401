import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { type EimError, isEimError } from '../../api/index.ts';
import { type InventoryService, requirePermission } from '../../inventory/index.ts';
import type { TokenService } from '../auth/token-service.ts';
import { loggableError, toEimError } from '../error-handler.ts';
import { eventStream } from '../openapi.ts';
import { bearerToken, callerOf, intParam, kindsParam, projectParam, stringParam } from '../request-helpers.ts';
import { WatchSlots } from '../watch-slots.ts';
import { EventFrames } from './event-frames.ts';

export interface WatchRouteOptions {
  /** Ends a stream when its token is revoked or expires. */
  tokens: TokenService;
  /** Idle time before a BOOKMARK. @default 10000 */
  bookmarkMs?: number;
  /** Open streams one token may hold (in this server process). @default 64 */
  maxPerToken?: number;
  /** Open streams of one project (all its tokens) in this server process. @default 250 */
  maxPerProject?: number;
  /** Open streams in this server process, all tokens together. @default 1000 */
  maxStreams?: number;
}

/**
 * The watch stream (Server-Sent Events) and the events page, per project and across projects.
 * A slow reader is never dropped: the stream waits for the socket to drain and reads on from the
 * log, so what it gets later is exactly what it would have got. A stream ends (an ERROR event with
 * `unauthenticated`, then the end) when its token is revoked or expires.
 */
export function registerWatchRoutes(app: FastifyInstance, inventory: InventoryService, options: WatchRouteOptions): void {
  const watchSchema = {
    tags: ['Watch'],
    summary: 'Stream events as Server-Sent Events: id = revision, event = CREATED|UPDATED|DELETED|BOOKMARK. Resumes from Last-Event-ID.',
    querystring: Type.Object({ kinds: Type.Optional(Type.String({ description: 'hosts,instances' })), since: Type.Optional(Type.Integer({ minimum: 0 })) }),
    response: eventStream('The events, in revision order: first a BOOKMARK with the revision the stream starts from, then CREATED/UPDATED/DELETED events, and a BOOKMARK when idle'),
  };
  const eventsSchema = {
    tags: ['Watch'],
    summary: 'The events after `since` as a JSON page { events, revision }',
    querystring: Type.Object({
      since: Type.Optional(Type.Integer({ minimum: 0 })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      kinds: Type.Optional(Type.String()),
      id: Type.Optional(Type.String()),
    }),
    response: { 200: Type.Object({ events: Type.Array(Type.Object({}, { additionalProperties: true })), revision: Type.Integer() }) },
  };

  const frames = new EventFrames();
  const slots = new WatchSlots({ perToken: options.maxPerToken, perProject: options.maxPerProject, total: options.maxStreams });
  const watch = async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Record<string, string | undefined>;
    const caller = callerOf(req);
    const project = projectParam(req.params);
    // Only a caller who may watch the project counts against its share (an outsider's refused
    // opens must not hold the project's slots, even for a moment).
    requirePermission(caller, project, 'read', 'watch');
    // Taken before anything is awaited (concurrent opens must not all pass the check), and given
    // back in the finally below, whichever way the request ends.
    const release = slots.reserve(caller.tokenId ?? caller.subject, project);
    const abort = new AbortController();
    /** Why the server ends the stream (the token was revoked or expired), when it does. */
    let ended: EimError | undefined;
    let stopGuard = () => {};
    // The client may go away at any moment, also while the store is awaited below.
    const onClose = () => abort.abort();
    reply.raw.once('close', onClose);
    try {
      stopGuard = await options.tokens.guard(bearerToken(req), (e) => {
        ended = e;
        abort.abort();
      });
      const lastEventId = req.headers['last-event-id'];
      // A stream "from now" starts at an explicit revision, announced in a first BOOKMARK: a client
      // that loses the connection before the first event still resumes without a gap.
      const since = intParam(lastEventId !== undefined && lastEventId !== '' ? lastEventId : q.since, lastEventId ? 'Last-Event-ID' : 'since') ?? inventory.hub.last;
      const stream = await inventory.openWatchBatches(caller, {
        project,
        kinds: kindsParam(q.kinds),
        since,
        signal: abort.signal,
        bookmarkMs: options.bookmarkMs,
      });
      if (abort.signal.aborted || req.raw.socket?.destroyed) {
        await stream.return(undefined);
        if (ended) throw ended; // still connected: a plain 401
        reply.hijack();
        reply.raw.destroy();
        return;
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      raw.write(`: watching\n\nid: ${since}\nevent: BOOKMARK\ndata: {"revision":${since}}\n\n`);
      try {
        for await (const items of stream) {
          // One write for what one commit brought: a burst leaves in one syscall, at once. Event
          // frames are encoded once for all streams (EventFrames).
          const parts = items.map((item) => (item.type === 'event' ? frames.of(item) : Buffer.from(`id: ${item.revision}\nevent: BOOKMARK\ndata: {"revision":${item.revision}}\n\n`)));
          if (!raw.write(parts.length === 1 ? parts[0] : Buffer.concat(parts))) await drained(raw, abort.signal);
          if (abort.signal.aborted) break;
        }
      } catch (e) {
        if (!abort.signal.aborted) {
          const err = toEimError(e);
          if (!isEimError(e)) req.log.error({ err: loggableError(e), route: req.routeOptions.url, method: req.method }, 'watch stream failed');
          raw.write(`event: ERROR\ndata: ${JSON.stringify(err.toJSON())}\n\n`);
        }
      } finally {
        abort.abort();
        if (ended && !raw.destroyed) raw.write(`event: ERROR\ndata: ${JSON.stringify(ended.toJSON())}\n\n`);
        raw.end();
      }
    } finally {
      stopGuard();
      reply.raw.off('close', onClose);
      release();
    }
  };

  const events = async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Record<string, string | undefined>;
    const page = await inventory.eventsRaw(callerOf(req), {
      project: projectParam(req.params),
      since: intParam(q.since, 'since'),
      limit: intParam(q.limit, 'limit', 1),
      kinds: kindsParam(q.kinds),
      id: stringParam(q.id, 'id'),
    });
    return reply.type('application/json').send(`{"events":[${page.events.map((e) => e.json).join(',')}],"revision":${page.revision}}`);
  };

  app.get('/v1/projects/:project/watch', { schema: { ...watchSchema, operationId: 'watchProject' } }, watch);
  app.get('/v1/watch', { schema: { ...watchSchema, operationId: 'watchAll', summary: `${watchSchema.summary} Every project (managers, cluster admins).` } }, watch);
  app.get('/v1/projects/:project/events', { schema: { ...eventsSchema, operationId: 'listProjectEvents' } }, events);
  app.get('/v1/events', { schema: { ...eventsSchema, operationId: 'listAllEvents', summary: `${eventsSchema.summary}; every project (managers, cluster admins)` } }, events);
}

function drained(raw: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    raw.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
