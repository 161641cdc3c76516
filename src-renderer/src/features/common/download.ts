// Saves text the console made (an export) as a file the browser downloads.

export function downloadText(text: string, filename: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** "2026-03-04T14-05-09" for file names. */
export function fileStamp(ms = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/:/g, '-');
}
