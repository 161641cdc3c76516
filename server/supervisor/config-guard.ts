// The config-aware crash-loop guard (issue 5), as pure functions: whether a failure that
// follows a new configuration version calls for a rollback, and the diff that explains it.

export type ConfigObject = Record<string, unknown>;

export interface GuardInput {
  /** The agent's stored config version its process runs (0: no agent settings). */
  runningVersion: number | null;
  /** When that version took effect in the running process (ms since epoch). */
  runningSinceMs: number | null;
  /** The last version the agent ran healthy under for stable_after seconds, if any. */
  stableVersion: number | null;
  /** Stored layers of both versions (undefined when unknown). */
  runningConfig?: ConfigObject;
  stableConfig?: ConfigObject;
  stableAfterS: number;
  nowMs: number;
}

export type GuardDecision = { rollback: false; why: string } | { rollback: true; to: number; why: string };

/**
 * Roll back when the agent fails within stable_after of a version other than the last good
 * one, and that version's settings differ from the good one's (a rollback that changes
 * nothing would only loop).
 */
export function crashLoopDecision(g: GuardInput): GuardDecision {
  if (g.stableVersion === null) return { rollback: false, why: 'no configuration version has run healthy yet' };
  if (g.runningVersion === null || g.runningSinceMs === null) return { rollback: false, why: 'the running configuration version is not known' };
  if (g.runningVersion === g.stableVersion) return { rollback: false, why: `version ${g.runningVersion} is the last version that ran healthy` };
  const age = (g.nowMs - g.runningSinceMs) / 1000;
  if (age > g.stableAfterS) return { rollback: false, why: `version ${g.runningVersion} has been in effect for ${age.toFixed(1)} s, longer than stable_after` };
  if (g.runningConfig && g.stableConfig && sameConfig(g.runningConfig, g.stableConfig)) {
    return { rollback: false, why: `version ${g.runningVersion} has the same settings as version ${g.stableVersion}` };
  }
  return {
    rollback: true,
    to: g.stableVersion,
    why: `the agent failed ${age.toFixed(1)} s after configuration version ${g.runningVersion} took effect (stable_after ${g.stableAfterS} s); version ${g.stableVersion} ran healthy`,
  };
}

export interface ConfigDiff {
  added: ConfigObject;
  removed: ConfigObject;
  changed: Record<string, { from: unknown; to: unknown }>;
}

/** What changes going from `from` to `to`, key by key. */
export function configDiff(from: ConfigObject, to: ConfigObject): ConfigDiff {
  // Own keys only: a stored key named `constructor` is a key like any other.
  const added: Array<[string, unknown]> = [];
  const removed: Array<[string, unknown]> = [];
  const changed: Array<[string, { from: unknown; to: unknown }]> = [];
  for (const [k, v] of Object.entries(to)) {
    if (!Object.hasOwn(from, k)) added.push([k, v]);
    else if (canonical(from[k]) !== canonical(v)) changed.push([k, { from: from[k], to: v }]);
  }
  for (const [k, v] of Object.entries(from)) if (!Object.hasOwn(to, k)) removed.push([k, v]);
  return { added: Object.fromEntries(added), removed: Object.fromEntries(removed), changed: Object.fromEntries(changed) };
}

export function sameConfig(a: ConfigObject, b: ConfigObject): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted, so key order does not count as a change. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as ConfigObject)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
