// This host's id for its supervisor: `--host-id` when given, else the id kept in
// `<dataDir>/host-id`, made on first start from the machine's name and a random suffix (stable
// across restarts, distinct for two data dirs on one machine).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function resolveHostId(dataDir: string, explicit?: string): string {
  if (explicit) return explicit;
  const file = path.join(dataDir, 'host-id');
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(kept)) return kept;
  } catch {
    // made below
  }
  const base = os.hostname().toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 40) || 'host';
  const id = `${base}-${randomBytes(3).toString('hex')}`;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
