// Differences between two configuration versions, key by key (nested objects by dotted path),
// and where a JSON text fails to parse, for the editor's inline errors.

export type DiffKind = 'added' | 'removed' | 'changed' | 'same';

export interface DiffEntry {
  key: string;
  kind: DiffKind;
  before?: unknown;
  after?: unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Flattens nested objects into dotted keys; arrays and scalars are leaves. */
export function flatten(value: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && Object.keys(v).length > 0) Object.assign(out, flatten(v, key));
    else out[key] = v;
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every key of either version, sorted, with how it changed from `before` to `after`. */
export function diffConfigs(before: Record<string, unknown>, after: Record<string, unknown>): DiffEntry[] {
  const a = flatten(before);
  const b = flatten(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.map((key) => {
    const inA = key in a;
    const inB = key in b;
    if (inA && !inB) return { key, kind: 'removed', before: a[key] };
    if (!inA && inB) return { key, kind: 'added', after: b[key] };
    return { key, kind: same(a[key], b[key]) ? 'same' : 'changed', before: a[key], after: b[key] };
  });
}

export function diffSummary(entries: DiffEntry[]): string {
  const n = (k: DiffKind) => entries.filter((e) => e.kind === k).length;
  const parts = [n('added') && `${n('added')} added`, n('removed') && `${n('removed')} removed`, n('changed') && `${n('changed')} changed`].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no difference';
}

export type ParsedConfig = { ok: true; value: Record<string, unknown> } | { ok: false; message: string; line: number | null; column: number | null };

/** Parses the editor's text: a JSON object, or says where and why it is not one. */
export function parseConfigText(text: string): ParsedConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const lineCol = /line (\d+) column (\d+)/.exec(message);
    if (lineCol) return { ok: false, message, line: Number(lineCol[1]), column: Number(lineCol[2]) };
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      return { ok: false, message, line, column: Number(pos[1]) - before.lastIndexOf('\n') };
    }
    return { ok: false, message, line: null, column: null };
  }
  if (!isPlainObject(value)) return { ok: false, message: 'The configuration must be a JSON object: { "key": value, ... }', line: 1, column: 1 };
  return { ok: true, value };
}

export function formatValue(v: unknown): string {
  if (v === undefined) return '';
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
}
