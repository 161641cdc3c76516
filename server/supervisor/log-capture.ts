// Agent process output: the stdout/stderr capture files are tailed as they grow, each line
// parsed (JSON lines for level, message and fields; plain lines INFO on stdout and ERROR on
// stderr), stored in agent_logs in batches and published as `log.line` events. Files rather
// than pipes, so an agent survives an AMS crash (a write to a pipe with no reader kills it)
// and its output is picked up again when the new AMS adopts it.
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { LogLineWire } from '../broker/host-protocol.js';
import { jsonLimitProblem } from '../domain/json-limits.js';

export type OutputStream = 'stdout' | 'stderr';

export const MAX_LINE_BYTES = 16 * 1024;
/** A capture file fully read and larger than this is truncated (the agent appends with O_APPEND). */
const TRUNCATE_AT_BYTES = 4 * 1024 * 1024;
const READ_CHUNK = 64 * 1024;
const MAX_READ_PER_POLL = 1024 * 1024;

const LEVELS: Record<string, string> = {
  trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', notice: 'INFO', warn: 'WARNING', warning: 'WARNING',
  error: 'ERROR', err: 'ERROR', fatal: 'CRITICAL', critical: 'CRITICAL', crit: 'CRITICAL',
};

function levelOf(value: unknown): string | undefined {
  if (typeof value === 'string') return LEVELS[value.toLowerCase()];
  if (typeof value === 'number') {
    // pino / bunyan numeric levels
    if (value >= 60) return 'CRITICAL';
    if (value >= 50) return 'ERROR';
    if (value >= 40) return 'WARNING';
    if (value >= 30) return 'INFO';
    return 'DEBUG';
  }
  return undefined;
}

function timeOf(value: unknown): Date | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const OWN_FIELDS = new Set(['level', 'message', 'msg', 'time', 'timestamp', 'agent_id', 'context', 'nats']);

export interface ParsedLine {
  level: string;
  message: string;
  context: Record<string, unknown> | null;
  timestamp: Date;
}

/**
 * One line of output. A JSON object line gives level, message, time and the rest as
 * context; anything else is a plain line. Undefined for empty lines, and for the SDK's copy
 * of a log line it also sent over NATS (`"nats": true`), which the ingest stores already.
 */
export function parseLogLine(line: string, stream: OutputStream, now: Date): ParsedLine | undefined {
  const text = line.replace(/\r$/, '');
  if (text.trim() === '') return undefined;
  const plain = { level: stream === 'stderr' ? 'ERROR' : 'INFO', message: text, context: null, timestamp: now };
  if (!text.startsWith('{')) return plain;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return plain;
  }
  // A line nested past the JSON limits stays plain text: storing it as context would overflow JSON.stringify.
  if (!obj || typeof obj !== 'object' || Array.isArray(obj) || jsonLimitProblem(obj)) return plain;
  const o = obj as Record<string, unknown>;
  if (o.nats === true) return undefined;
  const message = typeof o.message === 'string' ? o.message : typeof o.msg === 'string' ? o.msg : undefined;
  if (message === undefined) return { ...plain, context: o };
  // Built from entries: a key named `__proto__` in the line stays an own key, never a prototype.
  const nested = o.context && typeof o.context === 'object' && !Array.isArray(o.context) ? Object.entries(o.context) : [];
  const context: Record<string, unknown> = Object.fromEntries([...nested, ...Object.entries(o).filter(([k]) => !OWN_FIELDS.has(k))]);
  return {
    level: levelOf(o.level) ?? plain.level,
    message,
    context: Object.keys(context).length > 0 ? context : null,
    timestamp: timeOf(o.time) ?? timeOf(o.timestamp) ?? now,
  };
}

/** Reads what was appended to one capture file since the last read, line by line. */
export function createTailer(file: string, stream: OutputStream, startOffset: number, onLine: (line: string) => void) {
  let offset = startOffset;
  let partial = '';
  const decoder = new TextDecoder();
  return {
    stream,
    file,
    get offset() {
      return offset;
    },
    /** Whether the file has bytes not read yet (one stat, no open). */
    hasNew(): boolean {
      try {
        return fs.statSync(file).size !== offset;
      } catch {
        return false;
      }
    },
    /**
     * Reads new bytes (up to 1 MiB per call, so one chatty agent cannot hold the event loop);
     * `final` (the process is gone) reads to the end and also emits an unterminated last line.
     */
    read(final = false): void {
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch {
        return;
      }
      try {
        const size = fs.fstatSync(fd).size;
        if (size < offset) offset = 0; // truncated by someone else
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        let budget = final ? Number.POSITIVE_INFINITY : MAX_READ_PER_POLL;
        while (offset < size && budget > 0) {
          const n = fs.readSync(fd, buf, 0, Math.min(READ_CHUNK, size - offset), offset);
          if (n <= 0) break;
          offset += n;
          budget -= n;
          partial += decoder.decode(buf.subarray(0, n), { stream: true });
          let nl: number;
          while ((nl = partial.indexOf('\n')) >= 0) {
            onLine(partial.slice(0, nl));
            partial = partial.slice(nl + 1);
          }
          if (partial.length > MAX_LINE_BYTES) {
            onLine(partial.slice(0, MAX_LINE_BYTES));
            partial = '';
          }
        }
        if (final && partial) {
          onLine(partial);
          partial = '';
        }
        // Keep the file small: once everything is read, start it over. A line the agent writes
        // between the read and the truncation is lost; that window is a few microseconds.
        if (offset >= TRUNCATE_AT_BYTES && offset === fs.fstatSync(fd).size && !partial) {
          fs.truncateSync(file, 0);
          offset = 0;
        }
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

export type LogSink = ReturnType<typeof createLogSink>;

/**
 * Batches parsed lines (every flushMs, or maxBatch lines, or maxBatchBytes, whichever comes
 * first: one observation must stay well inside NATS's max payload) into `logs.lines`
 * observations; the control plane stores them in agent_logs and publishes each as `log.line`.
 */
export function createLogSink({ emit, logger, flushMs = 200, maxBatch = 500, maxBatchBytes = 256 * 1024, maxPending = 20_000 }: {
  emit: (lines: LogLineWire[]) => void;
  logger: Logger;
  flushMs?: number;
  maxBatch?: number;
  maxBatchBytes?: number;
  maxPending?: number;
}) {
  let lines: Array<{ line: LogLineWire; bytes: number }> = [];
  let pendingBytes = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    while (lines.length > 0) {
      let n = 0;
      let bytes = 0;
      while (n < lines.length && n < maxBatch && (n === 0 || bytes + lines[n].bytes <= maxBatchBytes)) bytes += lines[n++].bytes;
      const batch = lines.slice(0, n).map((l) => l.line);
      lines = lines.slice(n);
      pendingBytes -= bytes;
      try {
        emit(batch);
      } catch (err) {
        logger.warn({ err: (err as Error).message, lines: batch.length }, 'agent output could not be journaled; lines dropped');
      }
    }
    pendingBytes = 0;
  }

  return {
    add(agentId: string, stream: OutputStream, line: string): void {
      const parsed = parseLogLine(line, stream, new Date());
      if (!parsed) return;
      if (lines.length >= maxPending) {
        if (dropped++ % 1000 === 0) logger.warn({ agentId, dropped }, 'agent output arrives faster than it can be journaled; dropping lines');
        return;
      }
      const wire: LogLineWire = { agent_id: agentId, level: parsed.level, message: parsed.message, context: parsed.context, timestamp: parsed.timestamp.toISOString(), source: stream };
      // What the line weighs in JSON: its message and context (escapes can double them) and the fixed fields.
      const bytes = 2 * (Buffer.byteLength(parsed.message) + (parsed.context == null ? 0 : Buffer.byteLength(JSON.stringify(parsed.context)))) + 160;
      lines.push({ line: wire, bytes });
      pendingBytes += bytes;
      if (lines.length >= maxBatch || pendingBytes >= maxBatchBytes) flush();
      else if (!timer) {
        timer = setTimeout(flush, flushMs);
        timer.unref();
      }
    },
    /** Emits what is buffered now. */
    flush: async (): Promise<void> => flush(),
    async stop(): Promise<void> {
      flush();
    },
  };
}
