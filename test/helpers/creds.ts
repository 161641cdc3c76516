// Records the JWT and seed inside a NATS .creds body as secrets the logs must never contain.
import { recordSecret } from './secrets.js';

export function recordCreds(creds: string | undefined): void {
  if (!creds) return;
  const blocks = [...creds.matchAll(/-----BEGIN [A-Z ]+-----\s*\n([^\n]+)\n/g)].map((m) => m[1].trim());
  recordSecret(...blocks);
}
