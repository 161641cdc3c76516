// Opaque page cursors: base64url JSON of the last row's sort key.
import type { z } from 'zod';
import { ValidationFailed } from '../errors.js';

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the validation error
  }
  throw new ValidationFailed([{ path: 'cursor', reason: 'is not a cursor this endpoint issued', in: 'query' }]);
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Given limit+1 rows, returns the page and the cursor after its last row. */
export function toPage<R, T>(rows: R[], limit: number, present: (row: R) => T, keyOf: (row: R) => unknown): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  return {
    items: pageRows.map(present),
    next_cursor: more ? encodeCursor(keyOf(pageRows[pageRows.length - 1])) : null,
  };
}
