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

/**
 * Where JSON text first goes wrong: the offset and what was expected. Engines word (and
 * place) their JSON.parse errors differently, so the editor finds the spot itself.
 */
export function locateJsonError(text: string): { offset: number; expected: string } | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (expected: string): never => {
    throw { offset: i, expected };
  };
  const literal = (word: string) => (text.startsWith(word, i) ? (i += word.length) : fail(word));
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail('a closing quote');
      i++;
    }
    if (i >= text.length) fail('a closing quote');
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail('a value');
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a key in double quotes');
        string();
        ws();
        if (text[i] !== ':') fail('a colon');
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return void i++;
        fail('a comma or }');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return void i++;
        fail('a comma or ]');
      }
    }
    if (c === '"') return string();
    if (c === 't') return void literal('true');
    if (c === 'f') return void literal('false');
    if (c === 'n') return void literal('null');
    num();
  };
  try {
    value();
    ws();
    if (i < text.length) fail('the end of the text');
    return null;
  } catch (e) {
    return e as { offset: number; expected: string };
  }
}

/** Parses the editor's text: a JSON object, or says where and why it is not one. */
export function parseConfigText(text: string): ParsedConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const at = locateJsonError(text);
    if (!at) return { ok: false, message: (err as Error).message, line: null, column: null };
    const before = text.slice(0, at.offset);
    const found = at.offset < text.length ? `found ${JSON.stringify(text[at.offset])}` : 'the text ended';
    return { ok: false, message: `expected ${at.expected}, ${found}`, line: before.split('\n').length, column: at.offset - before.lastIndexOf('\n') };
  }
  if (!isPlainObject(value)) return { ok: false, message: 'The configuration must be a JSON object: { "key": value, ... }', line: 1, column: 1 };
  return { ok: true, value };
}

export function formatValue(v: unknown): string {
  if (v === undefined) return '';
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
}
