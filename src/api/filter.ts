import type { TSchema } from 'typebox';
import { EimError } from './errors.ts';
import type { KindDef } from './registry.ts';

/** A literal on the right of a comparison. `raw` keeps a number's text: `3.0` matches the string "3.0". */
export type FilterValue =
  | { type: 'string'; value: string; quoted: boolean }
  | { type: 'number'; value: number; raw: string }
  | { type: 'bool'; value: boolean }
  | { type: 'null' };
export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type FilterNode =
  | { op: 'and' | 'or'; args: FilterNode[] }
  | { op: 'not'; arg: FilterNode }
  | { op: 'cmp'; field: string[]; cmp: Comparator; value: FilterValue }
  | { op: 'has'; field: string[] };
export interface OrderTerm { field: string[]; desc: boolean }

const MAX_LENGTH = 4096;
/**
 * The most characters a value with `*` may have where the database matches it (lists, counts,
 * the fleet summary). PostgreSQL's regular expressions, which match wildcards there, cost more
 * per row the longer the pattern is; in-process matching (`evaluateFilter`) has no such limit.
 */
export const MAX_WILDCARD_LENGTH = 256;
const MAX_DEPTH = 32;
const MAX_ORDER_TERMS = 8;
const TOP_FIELDS = ['name', 'id', 'kind', 'revision', 'generation', 'createdAt', 'updatedAt'];
const FIELDS_HINT = `fields are ${TOP_FIELDS.join(', ')}, labels.<key>, inheritedLabels.<key>, spec.<path>, status.<path>`;
/**
 * `inheritedLabels.<key>` reads `status.inheritedLabels.<key>` (sites, hosts, instances). The stores
 * keep those labels in a column of their own, so a filter on them costs what one on `labels` does.
 */
export const INHERITED_LABELS = 'inheritedLabels';
const COMPARATORS: readonly Comparator[] = ['<=', '>=', '!=', '=', '<', '>']; // longest first
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BARE_SEGMENT = /[A-Za-z0-9_/-]/;
// Label keys need `.` and `/` (quoted); nothing else, so a path never needs escaping in SQL.
const QUOTED_SEGMENT = /^[A-Za-z0-9_./-]+$/;
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', r: '\r' };

/**
 * Parses an AIP-160 filter; undefined for empty text. With `def`, fields the kind's schemas do
 * not have are rejected. Throws EimError `invalid_argument` saying what and where.
 * @example parseFilter('spec.siteId = site-0a1b2c3d AND NOT labels.tier = edge-*', kindByName('Host'))
 */
export function parseFilter(text: string, def?: KindDef): FilterNode | undefined {
  if (text.trim() === '') return undefined;
  const p = new Parser(text, 'filter', def);
  const node = p.expression();
  if (!p.atEnd()) p.fail(p.peek() === ')' ? 'unbalanced ")"' : `unexpected "${p.peek()}"`);
  return node;
}

/**
 * Parses an AIP-132 orderBy: comma-separated fields, each optionally `asc` or `desc`.
 * @example parseOrderBy('status.currentState, createdAt desc') // [{ field: ['status', 'currentState'], desc: false }, …]
 */
export function parseOrderBy(text: string, def?: KindDef): OrderTerm[] {
  if (text.trim() === '') return [];
  const p = new Parser(text, 'orderBy', def);
  const terms: OrderTerm[] = [];
  do {
    if (terms.length === MAX_ORDER_TERMS) p.fail(`more than ${MAX_ORDER_TERMS} fields`);
    p.atEnd();
    const field = p.field();
    const dir = p.atEnd() ? '' : p.bareWord(/[\s,]/).toLowerCase();
    if (dir !== '' && dir !== 'asc' && dir !== 'desc') p.fail(`expected "asc", "desc" or "," after a field, found "${dir}"`, p.pos - dir.length);
    terms.push({ field, desc: dir === 'desc' });
  } while (!p.atEnd() && p.take(','));
  if (!p.atEnd()) p.fail(`unexpected "${p.peek()}"`, p.pos, 'separate fields with ","');
  return terms;
}

/**
 * The reference semantics of a filter, identical to `compileFilter`'s SQL.
 * @example evaluateFilter(parseFilter('labels.line = 3')!, { labels: { line: '3' } }) // true
 */
export function evaluateFilter(node: FilterNode, resource: object): boolean {
  switch (node.op) {
    case 'and': return node.args.every((a) => evaluateFilter(a, resource));
    case 'or': return node.args.some((a) => evaluateFilter(a, resource));
    case 'not': return !evaluateFilter(node.arg, resource);
    case 'has': return lookup(resource, node.field) != null;
    case 'cmp': return compare(lookup(resource, node.field), node.cmp, node.value);
  }
}

/** The value at `field`, undefined when missing. Never indexes into arrays (neither does the SQL). */
function lookup(resource: object, field: string[]): unknown {
  let v: unknown = resource;
  if (field[0] === INHERITED_LABELS) field = ['status', ...field];
  for (const seg of field) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

function compare(v: unknown, cmp: Comparator, fv: FilterValue): boolean {
  if (cmp === '=' || cmp === '!=') return equals(v, fv) === (cmp === '=');
  let order: number;
  if (fv.type === 'number' && typeof v === 'number') order = v < fv.value ? -1 : v > fv.value ? 1 : 0;
  else if (fv.type === 'string' && typeof v === 'string') order = compareCodePoints(v, fv.value);
  else return false;
  return cmp === '<' ? order < 0 : cmp === '<=' ? order <= 0 : cmp === '>' ? order > 0 : order >= 0;
}

function equals(v: unknown, fv: FilterValue): boolean {
  switch (fv.type) {
    case 'null': return v == null;
    case 'string': return typeof v === 'string' && (fv.value.includes('*') ? globMatch(fv.value, v) : v === fv.value);
    case 'number': return v === fv.value || v === fv.raw;
    case 'bool': return v === fv.value || v === String(fv.value);
  }
}

/** UTF-8 byte order, as SQLite's BINARY and PostgreSQL's "C" collations compare. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (supplementary planes) sort after U+E000–U+FFFF in code point order.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * Whether `s` matches the wildcard pattern `p`, where `*` matches any run (also an empty one) and
 * every other character itself. The literal runs between stars are found leftmost-first with
 * indexOf, which is exact for star-only patterns and never backtracks: a hostile pattern (a long
 * run after a star) over a long string costs a substring search, not one comparison of the run per
 * position. SQLite's filters call it too (see store/sqlite/sqlite-functions.ts).
 * @example globMatch('edge-*-b', 'edge-01-b') // true
 */
export function globMatch(p: string, s: string): boolean {
  const runs = p.split('*');
  const first = runs[0];
  const last = runs[runs.length - 1];
  if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
  let at = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < runs.length - 1; i++) {
    const found = s.indexOf(runs[i], at);
    if (found < 0 || found + runs[i].length > end) return false;
    at = found + runs[i].length;
  }
  return true;
}

class Parser {
  pos = 0;
  private depth = 0;

  constructor(private readonly src: string, private readonly what: 'filter' | 'orderBy', private readonly def?: KindDef) {
    if (src.length > MAX_LENGTH) this.fail(`too long (${src.length} characters)`, MAX_LENGTH, `at most ${MAX_LENGTH}`);
    const bad = /\p{Cs}|\0/u.exec(src);
    if (bad) this.fail('unpaired surrogate or NUL character', bad.index);
  }

  fail(message: string, at = this.pos, hint?: string): never {
    throw new EimError('invalid_argument', `${this.what}: ${message} at ${at + 1}${hint ? ` (${hint})` : ''}`);
  }

  peek(): string { return this.src[this.pos] ?? ''; }
  private found(): string { return this.pos < this.src.length ? `"${this.peek()}"` : 'the end'; }
  take(s: string): boolean { return this.src.startsWith(s, this.pos) ? ((this.pos += s.length), true) : false; }
  /** Skips whitespace; true when nothing is left. */
  atEnd(): boolean {
    while (/\s/.test(this.peek())) this.pos++;
    return this.pos >= this.src.length;
  }

  private keyword(kw: 'AND' | 'OR' | 'NOT'): boolean {
    this.atEnd();
    const next = this.src[this.pos + kw.length];
    return this.src.startsWith(kw, this.pos) && (next === undefined || /[\s(]/.test(next)) && this.take(kw);
  }

  private atBinaryKeyword(): string {
    return /^(AND|OR)(?=\s|\(|$)/.exec(this.src.slice(this.pos, this.pos + 4))?.[1] ?? '';
  }

  /** expression = sequence {AND sequence}; a sequence is juxtaposed factors, also ANDed. */
  expression(): FilterNode {
    const args = this.sequence();
    while (this.keyword('AND')) args.push(...this.sequence());
    return args.length === 1 ? args[0] : { op: 'and', args };
  }

  private sequence(): FilterNode[] {
    const args = [this.factor()];
    while (!this.atEnd() && this.peek() !== ')' && !this.atBinaryKeyword()) args.push(this.factor());
    return args;
  }

  /** factor = term {OR term}: OR binds tighter than AND (AIP-160). */
  private factor(): FilterNode {
    const args = [this.term()];
    while (this.keyword('OR')) args.push(this.term());
    return args.length === 1 ? args[0] : { op: 'or', args };
  }

  private term(): FilterNode {
    if (this.atEnd()) this.fail('expected a condition, found the end');
    const start = this.pos;
    if (this.keyword('NOT') || this.take('-')) return this.nested(start, () => ({ op: 'not', arg: this.term() }));
    if (this.take('(')) {
      const node = this.nested(start, () => this.expression());
      if (!this.atEnd() && this.take(')')) return node;
      this.fail('expected ")"', this.pos, `to close "(" at ${start + 1}`);
    }
    const word = this.atBinaryKeyword();
    if (word || this.peek() === ')') this.fail(`expected a condition, found "${word || ')'}"`);
    return this.restriction();
  }

  private nested<T>(start: number, parse: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`, start);
    const result = parse();
    this.depth--;
    return result;
  }

  private restriction(): FilterNode {
    const start = this.pos;
    const field = this.field();
    const fieldText = this.src.slice(start, this.pos);
    this.atEnd();
    if (this.take(':')) {
      this.atEnd();
      if (!this.take('*')) this.fail(`expected "*" after "${fieldText}:"`, this.pos, 'only "field:*", the field is set, is supported');
      return { op: 'has', field };
    }
    const cmp = COMPARATORS.find((c) => this.take(c));
    if (!cmp) this.fail(`expected = != < <= > >= or :* after "${fieldText}", found ${this.found()}`);
    return { op: 'cmp', field, cmp, value: this.value(cmp) };
  }

  private value(cmp: Comparator): FilterValue {
    this.atEnd();
    const start = this.pos;
    const q = this.peek();
    if (q === '"' || q === "'") return { type: 'string', value: this.quoted(), quoted: true };
    const word = this.bareWord();
    if (word === '') this.fail(`expected a value after "${cmp}"`, start, 'quote an empty string: ""');
    if (/[=<>!]/.test(word)) this.fail(`"${word}" contains = < > or !`, start, 'quote such values');
    if (/^(AND|OR|NOT)$/.test(word)) this.fail(`expected a value, found keyword "${word}"`, start, `quote it: "${word}"`);
    let v: FilterValue;
    if (word === 'true' || word === 'false') v = { type: 'bool', value: word === 'true' };
    else if (word === 'null') v = { type: 'null' };
    else if (NUMBER.test(word)) {
      const n = Number(word);
      if (!Number.isFinite(n)) this.fail(`number "${word}" is out of range`, start);
      v = { type: 'number', value: n, raw: word };
    } else v = { type: 'string', value: word, quoted: false };
    if ((v.type === 'bool' || v.type === 'null') && cmp !== '=' && cmp !== '!=') this.fail(`"${word}" can only be compared with = or !=`, start);
    return v;
  }

  /** A run up to whitespace, a parenthesis or a quote: `edge-*`, `2026-11-26T10:00:00Z`. */
  bareWord(stop = /[\s()"']/): string {
    const start = this.pos;
    while (this.pos < this.src.length && !stop.test(this.peek())) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private quoted(): string {
    const start = this.pos;
    const q = this.src[this.pos++];
    let out = '';
    for (;;) {
      const c = this.src[this.pos++];
      if (c === undefined) this.fail(`unterminated string ${this.src.slice(start, start + 20)}`, start, `close it with ${q}`);
      if (c === q) return out;
      if (c !== '\\') { out += c; continue; }
      const e = this.src[this.pos++] ?? '';
      if (!Object.hasOwn(ESCAPES, e)) this.fail(`unknown escape "\\${e}"`, this.pos - 2, 'allowed: \\\\ \\" \\\' \\n \\t \\r');
      out += ESCAPES[e];
    }
  }

  /** A dotted field path, checked against the kind's schemas when there is a def. */
  field(): string[] {
    const start = this.pos;
    const segs: string[] = [];
    do segs.push(this.segment());
    while (this.take('.'));
    this.checkField(segs, start);
    return segs;
  }

  private segment(): string {
    const start = this.pos;
    const q = this.peek();
    if (q === '"' || q === "'") {
      const end = this.src.indexOf(q, start + 1);
      const seg = end < 0 ? '' : this.src.slice(start + 1, end);
      if (!QUOTED_SEGMENT.test(seg)) this.fail(`bad field name ${this.src.slice(start, end < 0 ? start + 20 : end + 1)}`, start, 'a quoted name has letters, digits and _ . / -');
      this.pos = end + 1;
      return seg;
    }
    while (BARE_SEGMENT.test(this.peek())) this.pos++;
    if (this.pos === start) this.fail(`expected a field, found ${this.found()}`, start, FIELDS_HINT);
    return this.src.slice(start, this.pos);
  }

  private checkField(segs: string[], start: number): void {
    const text = this.src.slice(start, this.pos);
    const unknown = (hint: string): never => this.fail(`unknown field "${text}"`, start, hint);
    const [head] = segs;
    if (TOP_FIELDS.includes(head)) {
      if (segs.length > 1) unknown(`${head} has no subfields`);
      return;
    }
    if (head === 'labels' || head === INHERITED_LABELS) {
      if (segs.length !== 2) unknown(`use ${head}.<key>; quote a key with dots: ${head}."example.com/tier"`);
      const props = (this.def?.status as SchemaNode | undefined)?.properties;
      if (head === INHERITED_LABELS && this.def && !props?.[INHERITED_LABELS]) unknown(`${this.def.kind}s have no inherited labels (sites, hosts and instances do)`);
      return;
    }
    if (head !== 'spec' && head !== 'status') unknown(/^(and|or|not)$/i.test(head) ? 'AND, OR and NOT are uppercase' : FIELDS_HINT);
    if (segs.length < 2) unknown(`use ${head}.<path>`);
    if (!this.def) return;
    let schema = (head === 'spec' ? this.def.spec : this.def.status) as SchemaNode | undefined;
    if (!schema) unknown(`${this.def.kind} has no ${head}`);
    for (let i = 1; i < segs.length && schema; i++) {
      const props = schema.properties;
      const at = segs.slice(0, i).join('.');
      if (props && !Object.hasOwn(props, segs[i])) unknown(`${this.def.kind} ${at} fields: ${Object.keys(props).join(', ')}`);
      if (!props && (schema.enum || schema.const !== undefined || ['string', 'number', 'integer', 'boolean'].includes(schema.type as string))) {
        unknown(`${this.def.kind} ${at} has no subfields`);
      }
      // Below a record, an array or an untyped schema anything may be there: stop checking.
      schema = props?.[segs[i]];
    }
  }
}

type SchemaNode = TSchema & { properties?: Record<string, SchemaNode>; type?: unknown; enum?: unknown; const?: unknown };
