// The secrets check of a test run: every secret a test recorded (passwords, access, refresh,
// API and setup tokens, seeds) is searched for in every AMS log the run wrote. A hit fails.
import fs from 'node:fs';
import path from 'node:path';

/** Returns the problems found (empty when the logs are clean). */
export function checkLogsForSecrets(logDir) {
  const secretsFile = path.join(logDir, 'secrets.txt');
  const secrets = fs.existsSync(secretsFile) ? [...new Set(fs.readFileSync(secretsFile, 'utf8').split('\n').filter(Boolean))] : [];
  if (secrets.length === 0) return ['no secrets were recorded: the check would prove nothing'];
  const logs = fs.readdirSync(logDir).filter((f) => f.endsWith('.log'));
  if (logs.length === 0) return ['no AMS logs were written'];
  const leaks = [];
  for (const file of logs) {
    const text = fs.readFileSync(path.join(logDir, file), 'utf8');
    for (const secret of secrets) if (text.includes(secret)) leaks.push(`${file} contains a recorded secret starting ${secret.slice(0, 6)}…`);
  }
  return leaks;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  const problems = checkLogsForSecrets(dir);
  const count = fs.readFileSync(path.join(dir, 'secrets.txt'), 'utf8').split('\n').filter(Boolean).length;
  if (problems.length > 0) {
    console.error(`secrets in logs: FAILED\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log(`secrets in logs: none of ${count} recorded secrets appear in ${fs.readdirSync(dir).filter((f) => f.endsWith('.log')).length} AMS logs`);
}
