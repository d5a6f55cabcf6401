import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import type { SimNodeIdentity } from './fleet-simulator.ts';

/** Other names tried, `hosts.1.yaml` … `hosts.99.yaml`, before giving up. */
const MAX_ALTERNATIVES = 99;
const MARK = '# eim-sim-sha256: ';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The hosts of simulated nodes as an `eim apply` file: one Host per node, registered by uuid and
 * serial number (desiredState registered, label simulated=true). Its first lines say what wrote it
 * and carry the sha256 of the rest, so a later run can tell an edited file from its own.
 * @example manifestText(sim.identities(), 'sim-4f2a')
 */
export function manifestText(nodes: readonly SimNodeIdentity[], prefix: string): string {
  const body = nodes
    .map((n) => `kind: hosts\nname: ${n.hostname}\nlabels: { simulated: "true" }\nspec:\n  uuid: ${n.uuid}\n  serialNumber: ${n.serialNumber}\n  desiredState: registered\n`)
    .join('---\n');
  return `# ${nodes.length} simulated node${nodes.length === 1 ? '' : 's'} of eim sim --prefix ${prefix}, to register with eim apply -f. Edit freely: eim sim never overwrites a file that was changed.\n${MARK}${sha(body)}\n${body}`;
}

/** Whether a file is one manifestText made and nobody changed since. */
function untouched(text: string): boolean {
  const lines = text.split('\n');
  const mark = lines[1]?.startsWith(MARK) ? lines[1].slice(MARK.length).trim() : undefined;
  return mark !== undefined && sha(lines.slice(2).join('\n')) === mark;
}

/** What writeManifest did. */
export interface ManifestWrite {
  /** Where the manifest is now. */
  path: string;
  /** `written`: a new file; `unchanged`: it held this already; `replaced`: an earlier unedited one was replaced; `kept`: `asked` was changed by someone, so `path` is another name. */
  outcome: 'written' | 'unchanged' | 'replaced' | 'kept';
  asked: string;
}

/**
 * Writes a manifest at `path`, never over a file someone changed: a file there that is not an
 * unedited manifest of eim sim is left as it is and the manifest goes to the first free (or
 * identical) `name.N.ext` beside it. Atomic (a temp file renamed into place).
 * @example const w = writeManifest('sim-hosts.yaml', manifestText(nodes, prefix)); if (w.outcome === 'kept') say(`${w.asked} was edited: wrote ${w.path}`)
 */
export function writeManifest(path: string, text: string): ManifestWrite {
  const ext = extname(path);
  const base = ext ? path.slice(0, -ext.length) : path;
  for (let n = 0; n <= MAX_ALTERNATIVES; n++) {
    const candidate = n === 0 ? path : `${base}.${n}${ext}`;
    if (!existsSync(candidate)) {
      write(candidate, text);
      return { path: candidate, outcome: n === 0 ? 'written' : 'kept', asked: path };
    }
    const old = readFileSync(candidate, 'utf8');
    if (old === text) return { path: candidate, outcome: n === 0 ? 'unchanged' : 'kept', asked: path };
    if (untouched(old)) {
      write(candidate, text);
      return { path: candidate, outcome: n === 0 ? 'replaced' : 'kept', asked: path };
    }
  }
  throw new Error(`${path} and ${MAX_ALTERNATIVES} numbered names beside it were all changed by hand: pass --manifest with another path`);
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
