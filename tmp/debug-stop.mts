import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startAms } from '../server/ams.js';
import { parseSettings } from '../server/settings.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbg-'));
const agentsDir = path.join(dataDir, 'agents');
fs.cpSync('resources/agents/security', path.join(agentsDir, 'security'), { recursive: true });
const settings = { ...parseSettings(['--port', '0', '--data-dir', dataDir], {}), agentsDir };
const logger = pino({ level: 'debug' }, pino.destination({ dest: path.join(dataDir, 'log'), sync: true }));
const env = { OPMAS_AGENT_SDK: path.resolve('out/agent-sdk/index.mjs') };
let ams = await startAms(settings, { logger, env, secrets: { adminPassword: 'password-123456' }, announce: () => {} });
const id = (await ams.services.agents.list({ limit: 10 })).items[0].id;
await ams.services.lifecycle.requestStart(id, { actor: 'me' });
for (let i = 0; i < 50; i++) { await new Promise((r) => setTimeout(r, 100)); if ((await ams.services.status.get(id))?.process_status === 'running') break; }
console.log('status', (await ams.services.status.get(id))?.process_status, ams.supervisor!.processes());
await ams.close();
console.log('journal', fs.readFileSync(path.join(dataDir, 'supervisor', 'journal.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => { const o = JSON.parse(l); return `${o.epoch}:${o.seq}:${o.kind}`; }));
ams = await startAms(settings, { logger, env, secrets: {}, announce: () => {} });
const h = await ams.services.status.history({ agentId: id, limit: 50 });
console.log(h.items.map((r) => `${r.event_type} ${JSON.stringify(r.details).slice(0, 80)}`).reverse());
await ams.close();
