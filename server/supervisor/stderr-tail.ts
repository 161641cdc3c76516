// The last lines an agent wrote to stderr, read from its capture file when its launch fails or
// its process ends, so that the exit record says why (bounded bytes and lines; binary output is
// shown as text with replacement characters).
import fs from 'node:fs';

export function readStderrTail(file: string, opts: { maxLines?: number; maxBytes?: number } = {}): string[] {
  const maxLines = opts.maxLines ?? 10;
  const maxBytes = opts.maxBytes ?? 4096;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    let text = buf.toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    const lines = text
      .split('\n')
      .map((l) => l.replace(/\r$/, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').slice(0, 500))
      .filter((l) => l.trim() !== '' && !/"nats":\s*true/.test(l));
    return lines.slice(-maxLines);
  } catch {
    return [];
  } finally {
    fs.closeSync(fd);
  }
}
