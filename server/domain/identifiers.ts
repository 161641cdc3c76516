// Names, IDs and subjects shared by the API, the scanner and the broker: one definition each.
import { randomUUID } from 'node:crypto';

/** Package / agent name, as in DESIGN.md: a letter then up to 63 letters, digits, `_` or `-`. */
export const AGENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Agent type: a lower-case slug that is also a single NATS subject token. */
export const AGENT_TYPE_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const AGENT_TYPE_MAX = 50;
const UUID_V4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
export const AGENT_ID_PATTERN = new RegExp(`^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-(${UUID_V4})$`);

export function newAgentId(agentType: string): string {
  return `${agentType}-${randomUUID()}`;
}

/** The type part of an agent ID, or undefined when the string is not an agent ID. */
export function agentTypeOfId(id: string): string | undefined {
  return AGENT_ID_PATTERN.exec(id)?.[1];
}

/** Default agent type for a package name: lower-cased, without a trailing "agent". */
export function defaultAgentType(name: string): string {
  const base = name.replace(/[-_]?agent$/i, '') || name;
  return base
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Why a string is not a valid NATS subject, or undefined when it is. Tokens are separated by
 * `.`, are never empty and hold no whitespace; `*` and `>` are wildcards only where
 * `allowWildcards` (subscriptions) and only as whole tokens, `>` only last.
 */
export function natsSubjectProblem(subject: string, allowWildcards: boolean): string | undefined {
  if (subject.length === 0) return 'is empty';
  if (subject.length > 255) return 'is longer than 255 characters';
  if (/[\s\u0000]/.test(subject)) return 'contains whitespace';
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '') return 'has an empty token (leading, trailing or double dot)';
    const wildcard = token === '*' || token === '>';
    if (wildcard && !allowWildcards) return 'contains a wildcard, which is not allowed here';
    if (token === '>' && i !== tokens.length - 1) return "uses '>' before the last token";
    if (!wildcard && /[*>]/.test(token)) return "uses '*' or '>' inside a token";
  }
  return undefined;
}
