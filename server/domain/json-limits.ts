// Bounds on free-form JSON (configuration values, log context, any request body): nesting
// depth and the number of keys and elements. Checked iteratively, so a value nested thousands
// of levels deep is measured without the recursion (JSON.stringify, schema walks) it would
// otherwise overflow the stack in.

/** Levels of objects and arrays; the value itself is level 1 when it is an object or array. */
export const MAX_JSON_DEPTH = 32;
/** Object keys plus array elements, counted over the whole value. */
export const MAX_JSON_NODES = 10_000;

export interface JsonLimitProblem {
  /** Dotted path of the first value past a limit ('' for the value itself). */
  path: string;
  reason: string;
  limit: 'depth' | 'nodes';
}

interface Frame {
  value: object;
  depth: number;
  /** Dotted path, built only for containers (keys of leaves are never needed). */
  path: string;
}

/**
 * The first way `value` exceeds the limits, or undefined. Walks with an explicit stack: no
 * recursion, at most `maxNodes` visits.
 */
export function jsonLimitProblem(value: unknown, maxDepth = MAX_JSON_DEPTH, maxNodes = MAX_JSON_NODES): JsonLimitProblem | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const stack: Frame[] = [{ value, depth: 1, path: '' }];
  let nodes = 0;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > maxDepth) {
      return { path: frame.path, reason: `nests objects and arrays deeper than the limit of ${maxDepth} levels`, limit: 'depth' };
    }
    const isArray = Array.isArray(frame.value);
    const keys = isArray ? undefined : Object.keys(frame.value);
    nodes += isArray ? (frame.value as unknown[]).length : keys!.length;
    if (nodes > maxNodes) {
      return { path: frame.path, reason: `holds more than the limit of ${maxNodes} keys and array elements in all`, limit: 'nodes' };
    }
    const push = (key: string, child: unknown) => {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: frame.depth + 1, path: frame.path ? `${frame.path}.${key}` : key });
    };
    if (isArray) (frame.value as unknown[]).forEach((child, i) => push(String(i), child));
    else for (const key of keys!) push(key, (frame.value as Record<string, unknown>)[key]);
  }
  return undefined;
}

/** The dotted path of the first `__proto__` key in `value` (parsed with plain JSON.parse, where it is an own key), or undefined. */
export function protoKeyPath(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  let visited = 0;
  while (stack.length > 0 && visited++ < 1_000_000) {
    const { value: v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    for (const key of Object.keys(v)) {
      const at = path ? `${path}.${key}` : key;
      if (key === '__proto__') return at;
      stack.push({ value: (v as Record<string, unknown>)[key], path: at });
    }
  }
  return undefined;
}
