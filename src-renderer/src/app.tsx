// Minimal console page: shows the health of the AMS this page is served by.
import { useEffect, useState } from 'react';

interface Health {
  status: string;
  version: string;
  components: Record<string, { status: string; latency_ms: number | null; error?: string }>;
}

export function App() {
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    const load = () =>
      fetch('/api/v1/health')
        .then((r) => r.json() as Promise<Health>)
        .then((h) => !cancelled && (setHealth(h), setError(null)))
        .catch((e: Error) => !cancelled && setError(e.message));
    void load();
    const timer = setInterval(load, 5000);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, []);

  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', padding: 24 }}>
      <h1>OPMAS Console</h1>
      {error && <p role="alert">Cannot reach the AMS: {error}</p>}
      {!health && !error && <p>Loading AMS health…</p>}
      {health && (
        <section aria-label="AMS health">
          <p>
            AMS {health.version}: <strong data-testid="ams-status">{health.status}</strong>
          </p>
          <ul>
            {Object.entries(health.components).map(([name, c]) => (
              <li key={name}>
                {name}: {c.status}
                {c.latency_ms !== null && ` (${c.latency_ms} ms)`}
                {c.error && ` — ${c.error}`}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
