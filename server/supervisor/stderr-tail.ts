// What an agent wrote on stderr before it ended, kept with its exit record so that the
// operator sees why it failed: the first and last lines of the capture file, bounded in bytes
// and lines, readable whatever the agent wrote (binary, ANSI colours, huge lines). Pure apart
// from reading the file.
import fs from 'node:fs';

export interface StderrTailLimits {
  /** Bytes read from the start and from the end of the file (at most twice this in all). */
  readBytes: number;
  /** Lines kept from the start of the output. */
  headLines: number;
  /** Lines kept from the end of the output. */
  tailLines: number;
  /** Characters kept of one line. */
  lineChars: number;
}

export const STDERR_TAIL_LIMITS: StderrTailLimits = { readBytes: 8 * 1024, headLines: 6, tailLines: 14, lineChars: 400 };

// CSI/OSC escape sequences (colours, cursor moves) and other C0/C1 controls except tab.
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]/g;
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** One printable line: escapes removed, other control bytes shown as U+FFFD, cut to `max` characters. */
export function cleanLine(raw: string, max: number = STDERR_TAIL_LIMITS.lineChars): string {
  let text = raw.replace(/\r$/, '').replace(ESCAPES, '').replace(CONTROLS, '\ufffd').replace(/\s+$/, '');
  const json = jsonLogLine(text);
  if (json !== undefined) text = json;
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/** A JSON log line (`{"level":…,"message"|"msg":…}`) as "LEVEL message"; undefined for anything else. */
function jsonLogLine(text: string): string | undefined {
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  try {
    const o = JSON.parse(text) as unknown;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
    const r = o as Record<string, unknown>;
    const message = typeof r.message === 'string' ? r.message : typeof r.msg === 'string' ? r.msg : undefined;
    if (message === undefined) return undefined;
    const level = typeof r.level === 'string' ? r.level.toUpperCase() : typeof r.level === 'number' ? String(r.level) : undefined;
    return level ? `${level} ${message}` : message;
  } catch {
    return undefined;
  }
}

/**
 * The first `headLines` and last `tailLines` non-blank lines of `bytes`, where `bytes` may be
 * only the two ends of a larger output (`omittedBytes` between them). A line saying what was
 * left out stands between the two parts when anything was.
 */
export function tailLinesOf(head: Buffer, tail: Buffer | undefined, omittedBytes: number, limits: StderrTailLimits = STDERR_TAIL_LIMITS): string[] {
  const split = (buf: Buffer, dropFirst: boolean, dropLast: boolean) => {
    const lines = buf.toString('utf8').split('\n');
    // A part cut out of a larger output starts or ends mid-line: that piece is dropped.
    if (dropFirst) lines.shift();
    if (dropLast) lines.pop();
    return lines.map((l) => cleanLine(l, limits.lineChars)).filter((l) => l.trim() !== '');
  };
  if (!tail) {
    const lines = split(head, false, false);
    const keep = limits.headLines + limits.tailLines;
    if (lines.length <= keep + 1) return lines;
    return [...lines.slice(0, limits.headLines), `… ${lines.length - keep} more lines …`, ...lines.slice(-limits.tailLines)];
  }
  const first = split(head, false, true).slice(0, limits.headLines);
  const last = split(tail, true, false).slice(-limits.tailLines);
  return [...first, `… ${omittedBytes} more bytes …`, ...last];
}

/**
 * The first and last lines of a capture file; [] when it is missing, empty or unreadable (the
 * exit must be recorded whatever happens to the file). Reads at most 2 × `readBytes`.
 */
export function readStderrTail(file: string, limits: StderrTailLimits = STDERR_TAIL_LIMITS): string[] {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    if (size === 0) return [];
    const read = (position: number, length: number) => {
      const buf = Buffer.alloc(length);
      const n = fs.readSync(fd!, buf, 0, length, position);
      return buf.subarray(0, n);
    };
    if (size <= 2 * limits.readBytes) return tailLinesOf(read(0, size), undefined, 0, limits);
    return tailLinesOf(read(0, limits.readBytes), read(size - limits.readBytes, limits.readBytes), size - 2 * limits.readBytes, limits);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

// An error's own line ("Error: …", "ValueError: …", "fatal: …", "panic: …") says more than a
// line that merely mentions one ("Traceback (most recent call last):", a stack frame).
const ERROR_LINE = /^\s*(?:[\w.]*(?:Error|Exception)\b[^:]*:|(?:error|fatal|panic|critical)\b)/i;
const TELLING = /\b(error|exception|cannot|can't|could not|failed|fatal|denied|not found|no such|panic|refused|invalid)\b/i;

/** The line of the tail that says most about the failure: an error's own line, else one naming a failure, else the last. */
export function stderrSummary(lines: string[]): string | undefined {
  const real = lines.filter((l) => !/^… \d+ more (lines|bytes) …$/.test(l));
  return real.find((l) => ERROR_LINE.test(l)) ?? real.find((l) => TELLING.test(l) && !/^\s*at /.test(l)) ?? real.at(-1);
}

/** `base`, followed by the telling stderr line when there is one: the status's `last_error`. */
export function withStderr(base: string, lines: string[]): string {
  const summary = stderrSummary(lines);
  return summary ? `${base}; stderr: ${summary}` : base;
}
