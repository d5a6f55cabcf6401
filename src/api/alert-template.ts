/**
 * Alert summary and description templates: text with `{{ path }}` placeholders naming fields of the
 * resource (`{{name}}`, `{{status.hostStatus.message}}`, `{{labels.line}}`) or of what surrounds it
 * (`{{site.name}}`, `{{host.name}}`, `{{region.name}}`, `{{rule.name}}`, `{{value}}` for a metric
 * rule). Nothing else: no logic, no calls, so a template can neither loop nor reach further than the
 * resource and its place.
 */

/** The first segment a placeholder may start with. */
export const TEMPLATE_ROOTS = ['name', 'id', 'kind', 'project', 'labels', 'spec', 'status', 'createdAt', 'updatedAt', 'site', 'host', 'region', 'rule', 'value'] as const;
const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_DEPTH = 8;

type Part = string | { path: string[] };

/**
 * Splits a template into text and placeholders; throws an Error saying what is wrong.
 * @example parseTemplate('{{name}} lost its connection') // [{ path: ['name'] }, ' lost its connection']
 */
export function parseTemplate(text: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    const close = text.indexOf('}}', i);
    if (close !== -1 && (open === -1 || close < open)) throw new Error(`"}}" at ${close + 1} without "{{" before it`);
    if (open === -1) {
      parts.push(text.slice(i));
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    const end = text.indexOf('}}', open + 2);
    if (end === -1) throw new Error(`"{{" at ${open + 1} is never closed with "}}"`);
    const inner = text.slice(open + 2, end).trim();
    if (inner === '') throw new Error(`empty placeholder "{{}}" at ${open + 1}`);
    const path = inner.split('.');
    if (path.length > MAX_DEPTH || !path.every((s) => SEGMENT.test(s))) {
      throw new Error(`placeholder "{{${inner.slice(0, 80)}}}" at ${open + 1} is not a field path (letters, digits, _ and - joined by dots, at most ${MAX_DEPTH} deep)`);
    }
    if (!(TEMPLATE_ROOTS as readonly string[]).includes(path[0])) {
      throw new Error(`placeholder "{{${inner.slice(0, 80)}}}" at ${open + 1} names no known field: start with one of ${TEMPLATE_ROOTS.join(', ')}`);
    }
    parts.push({ path });
    i = end + 2;
  }
  return parts;
}

/** What is wrong with a template, or undefined. */
export function templateProblem(text: string | undefined, field: string): string | undefined {
  if (text === undefined) return undefined;
  try {
    parseTemplate(text);
    return undefined;
  } catch (e) {
    return `${field}: ${(e as Error).message}`;
  }
}

/**
 * Fills a template from `context`; a missing field renders as nothing, a status triple as its
 * message, other objects as `key=value` pairs. The result is cut to `maxLength`.
 * @example renderTemplate('{{name}} at {{site.name}}', { name: 'edge-1', site: { name: 'berlin-1' } }) // 'edge-1 at berlin-1'
 */
export function renderTemplate(text: string, context: Record<string, unknown>, maxLength = 4096): string {
  let out = '';
  for (const part of parseTemplate(text)) {
    if (typeof part === 'string') out += part;
    else {
      let v: unknown = context;
      for (const seg of part.path) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[seg] : undefined;
      out += show(v);
    }
    if (out.length > maxLength) break;
  }
  return out.slice(0, maxLength);
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(show).join(', ');
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.message === 'string' && 'indicator' in o) return o.message;
    return Object.entries(o).map(([k, x]) => `${k}=${typeof x === 'object' ? JSON.stringify(x) : String(x)}`).join(', ');
  }
  return String(v);
}
