import { isMap, isNode, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { UsageError } from './usage-error.ts';

/** One resource as written in an `eim apply` file. */
export interface Manifest {
  kind: string;
  name: string;
  labels?: Record<string, string | null>;
  spec?: Record<string, unknown>;
  project?: string;
  /** Where it came from, for messages: `fleet.yaml:12`. */
  source: string;
}

// Fields of a resource as `eim get -o yaml` prints it that apply ignores, so that output can be
// applied again; the server owns them.
const SERVER_FIELDS = new Set(['id', 'revision', 'generation', 'createdAt', 'updatedAt', 'status']);
const FIELDS = new Set(['kind', 'name', 'labels', 'spec', 'project']);

/**
 * The resources in YAML or JSON text: one or many documents (`---`), each a resource, a list of
 * resources, or `{ items: [...] }` (what `eim get -o yaml` prints). Throws a UsageError naming the
 * file and line of anything malformed.
 * @example parseManifests('kind: region\nname: eu\nspec: {}\n', 'fleet.yaml')
 */
export function parseManifests(text: string, file: string): Manifest[] {
  const out: Manifest[] = [];
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new UsageError(`${file}:${doc.errors[0].linePos?.[0].line ?? '?'}: ${doc.errors[0].message.split('\n')[0]}`);
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) continue;
    const items = isMap(root) && !root.has('kind') ? root.get('items', true) : undefined;
    const nodes: unknown[] = isSeq(root) ? root.items : isSeq(items) ? items.items : [root];
    for (const node of nodes) {
      const offset = isNode(node) && node.range ? node.range[0] : doc.range[0];
      out.push(toManifest(isNode(node) ? node.toJS(doc) : node, `${file}:${lineAt(offset)}`));
    }
  }
  return out;
}

function toManifest(v: unknown, source: string): Manifest {
  if (!isObject(v)) throw new UsageError(`${source}: a resource must be a mapping with kind, name and spec`);
  for (const k of Object.keys(v)) {
    if (!FIELDS.has(k) && !SERVER_FIELDS.has(k)) throw new UsageError(`${source}: unknown field "${k}": a resource has kind, name, labels, spec and project`);
  }
  if (typeof v.kind !== 'string' || v.kind === '') throw new UsageError(`${source}: kind is missing (hosts, site, Region, …)`);
  if (typeof v.name !== 'string' || v.name === '') throw new UsageError(`${source}: name is missing`);
  if (v.spec !== undefined && v.spec !== null && !isObject(v.spec)) throw new UsageError(`${source}: spec must be a mapping`);
  if (v.labels !== undefined && v.labels !== null && !isObject(v.labels)) throw new UsageError(`${source}: labels must be a mapping`);
  if (v.project !== undefined && typeof v.project !== 'string') throw new UsageError(`${source}: project must be a string`);
  const labels = isObject(v.labels) ? Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, x === null ? null : String(x)])) : undefined;
  return { kind: v.kind, name: v.name, labels, spec: isObject(v.spec) ? v.spec : undefined, project: v.project as string | undefined, source };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
