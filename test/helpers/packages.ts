// Writes agent packages into an agents directory for scanner tests.
import fs from 'node:fs';
import path from 'node:path';

export interface PackageSpec {
  name?: string;
  version?: string;
  type?: string;
  command?: string;
  topics?: string;
  findings?: string;
  extra?: string;
  /** Files to create in the package folder (name -> content). */
  files?: Record<string, string>;
}

export function writePackage(agentsDir: string, folder: string, spec: PackageSpec): string {
  const dir = path.join(agentsDir, folder);
  fs.mkdirSync(dir, { recursive: true });
  const lines = [
    spec.name !== undefined && `AGENT_NAME=${spec.name}`,
    spec.version !== undefined && `AGENT_VERSION=${spec.version}`,
    spec.type !== undefined && `AGENT_TYPE=${spec.type}`,
    'AGENT_DESCRIPTION=Test agent   # a comment',
    spec.command !== undefined && `AGENT_COMMAND=${spec.command}`,
    spec.topics !== undefined && `DEFAULT_SUBSCRIBED_TOPICS=${spec.topics}`,
    spec.findings !== undefined && `DEFAULT_FINDINGS_TOPIC=${spec.findings}`,
    spec.extra,
  ].filter(Boolean);
  fs.writeFileSync(path.join(dir, '.env.discovery'), `${lines.join('\n')}\n`);
  for (const [name, content] of Object.entries(spec.files ?? {})) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

export const validPackage = (name: string, version = '1.0.0', extra: Partial<PackageSpec> = {}): PackageSpec => ({
  name,
  version,
  command: 'node agent.mjs',
  topics: 'logs.security,logs.auth',
  findings: 'findings.security',
  files: { 'agent.mjs': 'setInterval(() => {}, 1000);\n' },
  ...extra,
});
