// The OPMAS agent SDK: what an agent process imports to speak the protocol of DESIGN.md.
// It shares the subject map and message schemas with the AMS and imports nothing else of it.
// `npm run build` bundles it (with its dependencies) into out/agent-sdk/index.mjs, which agent
// packages load through OPMAS_AGENT_SDK; TypeScript code and tests import this file directly.
export { createAgentRuntime, type AgentRuntime, type AgentRuntimeOptions, type EventRecord, type LogLevel, type TopicHandler } from './runtime.js';
export { readAgentEnvironment, AgentEnvironmentError, type AgentConfig, type AgentEnvironment } from './environment.js';
export { readPackageDefaults, parseDiscoveryFile, type PackageDefaults } from './discovery.js';
export { subjects } from '../broker/subjects.js';
export { AGENT_REPORTED_STATUSES, type AgentReportedStatus, type ControlReply, type ControlRequest, type MetricMeta, type MetricsMeta } from '../broker/protocol.js';
