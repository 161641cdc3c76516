// Decides what each package on disk means for the registry: register a new agent, update a
// compatible one, or report the package as invalid, in conflict or incompatible. Pure: the
// scanner applies the decisions.
import semver from 'semver';
import type { PackageAgent, PackageReading } from './package-reader.js';

export type PackageStatus = 'registered' | 'invalid' | 'conflict' | 'incompatible' | 'removed' | 'ignored';

export interface RegisteredAgent {
  id: string;
  name: string;
  type: string;
  version: string;
}

export interface PackageDecision {
  path: string;
  status: PackageStatus;
  reasons: string[];
  /** What the scanner must do for a `registered` package. */
  action: 'register' | 'update' | 'none';
  agent?: PackageAgent;
  agentId?: string;
}

export function reconcile(readings: PackageReading[], agents: RegisteredAgent[]): PackageDecision[] {
  const byName = new Map(agents.map((a) => [a.name, a]));
  const decisions = new Map<string, PackageDecision>();
  const valid = readings.filter((r) => r.agent);
  for (const r of readings.filter((x) => !x.agent)) {
    decisions.set(r.path, r.ignored ? { path: r.path, status: 'ignored', reasons: [r.ignored], action: 'none' } : { path: r.path, status: 'invalid', reasons: r.problems, action: 'none' });
  }

  const groups = new Map<string, PackageReading[]>();
  for (const r of valid) groups.set(r.agent!.name, [...(groups.get(r.agent!.name) ?? []), r]);

  for (const [name, group] of groups) {
    const existing = byName.get(name);
    const decide = (r: PackageReading, status: PackageStatus, reason?: string, action: PackageDecision['action'] = 'none') =>
      decisions.set(r.path, { path: r.path, status, reasons: reason ? [reason] : [], action, agent: r.agent, agentId: existing?.id });

    let candidates = group;
    if (existing && group.some((r) => r.agent!.type !== existing.type)) {
      for (const r of group.filter((x) => x.agent!.type !== existing.type)) {
        decide(r, 'conflict', `${name} is registered with type ${JSON.stringify(existing.type)}, this package declares ${JSON.stringify(r.agent!.type)}`);
      }
      candidates = group.filter((r) => r.agent!.type === existing.type);
    }

    // The same name and version twice: nobody can tell which is meant.
    const byVersion = new Map<string, PackageReading[]>();
    for (const r of candidates) byVersion.set(r.agent!.version, [...(byVersion.get(r.agent!.version) ?? []), r]);
    for (const [version, same] of byVersion) {
      if (same.length < 2) continue;
      for (const r of same) {
        const others = same.filter((o) => o !== r).map((o) => o.path).join(', ');
        decide(r, 'conflict', `${name} ${version} is also provided by ${others}`);
      }
    }
    candidates = candidates.filter((r) => byVersion.get(r.agent!.version)!.length === 1);
    if (candidates.length === 0) continue;

    const major = existing ? semver.major(existing.version) : semver.major(highest(candidates).agent!.version);
    const compatible = candidates.filter((r) => semver.major(r.agent!.version) === major);
    for (const r of candidates.filter((x) => !compatible.includes(x))) {
      const against = existing ? `the registered ${existing.version}` : `${highest(candidates).agent!.version} in ${highest(candidates).path}`;
      decide(r, 'incompatible', `major version ${semver.major(r.agent!.version)} is not compatible with ${against}; register it under another name or remove the old agent`);
    }
    if (compatible.length === 0) continue;
    const chosen = highest(compatible);
    for (const r of compatible.filter((x) => x !== chosen)) {
      decide(r, 'conflict', `superseded by ${name} ${chosen.agent!.version} in ${chosen.path}`);
    }
    decide(chosen, 'registered', undefined, !existing ? 'register' : existing.version !== chosen.agent!.version ? 'update' : 'none');
  }
  return readings.map((r) => decisions.get(r.path)!);
}

function highest(readings: PackageReading[]): PackageReading {
  return readings.reduce((a, b) => (semver.gt(b.agent!.version, a.agent!.version) ? b : a));
}
