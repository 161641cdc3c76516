// How long each phase of the AMS's start took (database open, migrations, broker, first scan,
// ...), for /api/v1/health and the start benchmark: phases may overlap, so each is timed on its
// own from the start of startAms.

export interface StartupPhase {
  /** Milliseconds from the start of startAms to the phase's start, and its duration. */
  at_ms: number;
  ms: number;
}

export type StartupPhases = ReturnType<typeof createStartupPhases>;

export function createStartupPhases(now: () => number = () => performance.now()) {
  const t0 = now();
  const phases: Record<string, StartupPhase> = {};
  let readyMs: number | undefined;
  const facts: Record<string, string> = {};
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    /** Times `work` as phase `name` (it may run beside others). */
    async time<T>(name: string, work: () => Promise<T> | T): Promise<T> {
      const start = now();
      try {
        return await work();
      } finally {
        phases[name] = { at_ms: round(start - t0), ms: round(now() - start) };
      }
    },
    /** Something about this start worth reporting beside the phases (e.g. database: template). */
    note(name: string, value: string | undefined): void {
      if (value !== undefined) facts[name] = value;
    },
    ready(): void {
      readyMs ??= round(now() - t0);
    },
    /** `{total_ms, phases, ...notes}`; total_ms is until ready (null before). */
    view: () => ({ total_ms: readyMs ?? null, phases: { ...phases }, ...facts }),
  };
}
