// Named (prepared) statements for the API's hottest reads: PostgreSQL parses and plans each one
// once per connection instead of on every request. A name must always stand for the same SQL
// text, so callers derive it from a query's shape (which filters are present), never from
// values. PGlite keeps statements across socket connections; database.ts deallocates them
// when it opens a new one.
import { ISO_TIMESTAMPS } from './timestamps.js';

export interface PreparedOptions {
  name: string;
  types?: typeof ISO_TIMESTAMPS;
}

/** Query options (`.options(...)`) naming the statement; `isoTimestamps` reads timestamptz as ISO strings. */
export function prepared(name: string, { isoTimestamps = false } = {}): PreparedOptions {
  return { name: `opmas_${name}`, ...(isoTimestamps ? { types: ISO_TIMESTAMPS } : {}) };
}
