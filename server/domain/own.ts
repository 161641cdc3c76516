// Lookups by keys that come from users, agents or files: own properties only, so that a key
// such as `constructor`, `toString` or `__proto__` never reaches Object.prototype.

/** `table[key]` when `key` is an own property of `table`, else undefined. */
export function ownValue<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** An empty object without a prototype: `o[key] = v` and `o[key]` stay own-property operations for every key. */
export function dictionary<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
