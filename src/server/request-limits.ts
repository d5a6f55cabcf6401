import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { ALL_PROJECTS, EimError, jsonProblem, jsonTextTooDeep, MAX_BODY_DEPTH, textProblem } from '../api/index.ts';

/** Routes under /v1/projects/{project}/ that take the literal project `*`: tokens for every project (cluster admins). */
const ALL_PROJECTS_ROUTES = /^\/v1\/projects\/:project\/tokens(\/|$)/;

/**
 * What every request passes before a handler sees it, on every route (northbound and southbound):
 * - a JSON body nests at most MAX_BODY_DEPTH levels, checked on the raw text before it is parsed,
 *   and holds no key or string a store cannot keep (NUL, unpaired surrogates);
 * - path parameters and query parameters hold no such characters either;
 * - the literal project `*` (every project, for the cross-project routes) is never a project in a
 *   path, except to manage the tokens that span every project.
 * Each refusal is `invalid_argument` (400), or `not_found` for `*`, before anything is read or written.
 */
export function registerRequestLimits(app: FastifyInstance): void {
  const parser = (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0) return done(new EimError('invalid_argument', 'the body is empty; send a JSON object'));
    if (jsonTextTooDeep(text, MAX_BODY_DEPTH)) return done(new EimError('invalid_argument', `the body nests deeper than ${MAX_BODY_DEPTH} levels; flatten it`));
    let parsed: unknown;
    try {
      parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (e) {
      return done(jsonRefusal(e));
    }
    const problem = jsonProblem(parsed, MAX_BODY_DEPTH, 'body');
    if (problem) return done(new EimError('invalid_argument', `${problem}; NUL characters and unpaired surrogates cannot be stored: remove them`));
    done(null, parsed);
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, parser);

  app.addHook('onRequest', async (req) => {
    const params = req.params as Record<string, unknown> | undefined;
    if (params) {
      for (const [name, v] of Object.entries(params)) {
        const problem = typeof v === 'string' ? textProblem(v) : undefined;
        if (problem) throw new EimError('invalid_argument', `the path parameter ${name} ${problem}`);
      }
      if (params.project === ALL_PROJECTS && !ALL_PROJECTS_ROUTES.test(req.routeOptions.url ?? '')) {
        throw new EimError('not_found', `"*" is not a project; the routes across every project are /v1/{kind}, /v1/watch and /v1/events (managers and cluster admins)`);
      }
    }
    const query = req.query as Record<string, unknown> | undefined;
    if (query) {
      for (const [name, v] of Object.entries(query)) {
        for (const s of Array.isArray(v) ? v : [v]) {
          const problem = typeof s === 'string' ? (textProblem(s) ?? textProblem(name)) : undefined;
          if (problem) throw new EimError('invalid_argument', `the query parameter ${textProblem(name) ? '(its name)' : name.slice(0, 40)} ${problem}`);
        }
      }
    }
  });
}

/** Why a body did not parse: the parser's own words (where the JSON breaks), or the prototype keys that are refused. */
function jsonRefusal(e: unknown): EimError {
  const message = String((e as Error)?.message ?? e);
  if (/forbidden prototype property/.test(message)) {
    return new EimError('invalid_argument', 'the body holds a "__proto__" key, or a "constructor" object with a "prototype" key: such keys are refused (they could change how the server reads the body); rename them');
  }
  return new EimError('invalid_argument', `the body is not valid JSON: ${message.slice(0, 200)}`);
}
