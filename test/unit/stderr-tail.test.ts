// The stderr tail kept with an exit record: bounded in bytes and lines, readable whatever the
// process wrote, and the line that says most about the failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanLine, readStderrTail, STDERR_TAIL_LIMITS, stderrSummary, withStderr } from '../../server/supervisor/stderr-tail.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-stderr-tail-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fileWith = (content: string | Buffer) => {
  const file = path.join(dir, `f${n++}.log`);
  fs.writeFileSync(file, content);
  return file;
};

const NODE_CRASH = `node:internal/modules/esm/resolve:275
    throw new ERR_MODULE_NOT_FOUND(
          ^

Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/srv/out/agent-sdk/index.mjs' imported from /srv/agents/security/agent.mjs
    at finalizeResolution (node:internal/modules/esm/resolve:275:11)
    at moduleResolve (node:internal/modules/esm/resolve:860:10) {
  code: 'ERR_MODULE_NOT_FOUND',
  url: 'file:///srv/out/agent-sdk/index.mjs'
}

Node.js v20.20.2
`;

describe('readStderrTail', () => {
  it('answers every non-blank line of a short output, and [] for a missing or empty file', () => {
    const lines = readStderrTail(fileWith(NODE_CRASH));
    expect(lines[0]).toBe('node:internal/modules/esm/resolve:275');
    expect(lines).toContain("Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/srv/out/agent-sdk/index.mjs' imported from /srv/agents/security/agent.mjs");
    expect(lines.at(-1)).toBe('Node.js v20.20.2');
    expect(lines.every((l) => l.trim() !== '')).toBe(true);
    expect(readStderrTail(path.join(dir, 'missing.log'))).toEqual([]);
    expect(readStderrTail(fileWith(''))).toEqual([]);
  });

  it('keeps the first and last lines of a long output with a line saying how many were left out', () => {
    const all = Array.from({ length: 200 }, (_, i) => `line ${i}`);
    const lines = readStderrTail(fileWith(`${all.join('\n')}\n`));
    const { headLines, tailLines } = STDERR_TAIL_LIMITS;
    expect(lines).toEqual([...all.slice(0, headLines), `… ${200 - headLines - tailLines} more lines …`, ...all.slice(-tailLines)]);
  });

  it('reads only both ends of a huge output and drops the lines cut in the middle', () => {
    const limits = { ...STDERR_TAIL_LIMITS, readBytes: 1024 };
    const body = `${'first line\n'}${'x'.repeat(100_000)}\nmiddle\n${'y'.repeat(5000)}\nlast line\n`;
    const size = Buffer.byteLength(body);
    const lines = readStderrTail(fileWith(body), limits);
    expect(lines[0]).toBe('first line');
    expect(lines).toContain(`… ${size - 2048} more bytes …`);
    expect(lines.at(-1)).toBe('last line');
    expect(lines.join('\n')).not.toContain('middle');
    // The partial lines at the cut are not shown as if they were whole.
    expect(lines.filter((l) => /^[xy]+$/.test(l))).toEqual([]);
  });

  it('makes binary output, colours and control bytes printable, and cuts long lines', () => {
    const binary = Buffer.concat([Buffer.from('\u001b[31mError: red\u001b[0m\n'), Buffer.from([0xff, 0xfe, 0x00, 0x07, 0x41, 0x0a]), Buffer.from(`${'z'.repeat(5000)}\n`)]);
    const lines = readStderrTail(fileWith(binary));
    expect(lines[0]).toBe('Error: red');
    expect(lines[1]).toBe('\ufffd\ufffd\ufffd\ufffdA');
    expect(lines[2]).toHaveLength(STDERR_TAIL_LIMITS.lineChars);
    expect(lines[2].endsWith('…')).toBe(true);
  });

  it('shows JSON log lines as level and message', () => {
    expect(cleanLine('{"level":"error","message":"cannot connect","nats":true}')).toBe('ERROR cannot connect');
    expect(cleanLine('{"level":50,"msg":"boom","time":1}')).toBe('50 boom');
    expect(cleanLine('{"not":"a log line"}')).toBe('{"not":"a log line"}');
  });

  it('never answers more than head + tail + 1 lines of bounded length, whatever the bytes', () => {
    const { headLines, tailLines, lineChars } = STDERR_TAIL_LIMITS;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40_000 }), (bytes) => {
        const lines = readStderrTail(fileWith(Buffer.from(bytes)));
        expect(lines.length).toBeLessThanOrEqual(headLines + tailLines + 1);
        for (const l of lines) {
          expect(Array.from(l).length).toBeLessThanOrEqual(lineChars);
          expect(l).not.toMatch(/[\u0000-\u0008\u000a-\u001f]/);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('stderrSummary and withStderr', () => {
  it("picks the error's own line over a mention, and the last line when nothing names an error", () => {
    const node = readStderrTail(fileWith(NODE_CRASH));
    expect(stderrSummary(node)).toMatch(/^Error \[ERR_MODULE_NOT_FOUND\]: Cannot find module/);
    const python = ['Traceback (most recent call last):', '  File "agent.py", line 3, in <module>', '    import nats', "ModuleNotFoundError: No module named 'nats'"];
    expect(stderrSummary(python)).toBe("ModuleNotFoundError: No module named 'nats'");
    expect(stderrSummary(['starting', 'bye'])).toBe('bye');
    expect(stderrSummary([])).toBeUndefined();
  });

  it('adds the telling line to the last error, or leaves it alone', () => {
    expect(withStderr('the process exited with code 1', ['crash-on-start: failing on purpose'])).toBe('the process exited with code 1; stderr: crash-on-start: failing on purpose');
    expect(withStderr('the process exited with code 1', [])).toBe('the process exited with code 1');
  });
});
