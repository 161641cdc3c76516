// Recent resource samples per agent from the live stream (metrics.sample), kept outside
// React's state: sparklines and charts subscribe to `samples.revision` and read the book.
import type { LiveEvent } from '../api/types';
import type { Slice } from './store';

export interface Sample {
  seq: number;
  /** Epoch ms. */
  t: number;
  values: Record<string, number>;
}

export interface AgentSamples {
  /** The newest sample's seq; charts append what is newer than what they have. */
  seq: number;
  entries: Sample[];
}

/** Samples kept per agent: two hours at the sampler's usual 10 s. */
export const SAMPLES_KEPT = 720;

export class SampleBook {
  private readonly byAgent = new Map<string, AgentSamples>();
  private seq = 0;

  add(agentId: string, t: number, values: Record<string, number>): void {
    let book = this.byAgent.get(agentId);
    if (!book) this.byAgent.set(agentId, (book = { seq: 0, entries: [] }));
    const sample = { seq: ++this.seq, t: t < 1e12 ? t * 1000 : t, values };
    book.entries.push(sample);
    book.seq = sample.seq;
    if (book.entries.length > SAMPLES_KEPT) book.entries.splice(0, book.entries.length - SAMPLES_KEPT);
  }

  of(agentId: string): AgentSamples | undefined {
    return this.byAgent.get(agentId);
  }

  /** Samples newer than `afterSeq`. */
  since(agentId: string, afterSeq: number): Sample[] {
    const book = this.byAgent.get(agentId);
    if (!book || book.seq <= afterSeq) return [];
    let i = book.entries.length;
    while (i > 0 && book.entries[i - 1].seq > afterSeq) i--;
    return book.entries.slice(i);
  }

  /** The last `n` values of one metric (nulls where a sample lacked it). */
  recent(agentId: string, name: string, n: number): Array<number | null> {
    const entries = this.byAgent.get(agentId)?.entries ?? [];
    return entries.slice(-n).map((e) => (typeof e.values[name] === 'number' ? e.values[name] : null));
  }

  clear(): void {
    this.byAgent.clear();
  }
}

export interface SamplesSlice {
  samples: { revision: number; book: SampleBook };
  applySamples(events: LiveEvent[]): void;
}

export const samplesSlice = (): Slice<SamplesSlice> => (set, get) => ({
  samples: { revision: 0, book: new SampleBook() },
  applySamples(events) {
    const { book } = get().samples;
    let added = false;
    for (const e of events) {
      if (e.type !== 'metrics.sample' || !e.agent_id) continue;
      book.add(e.agent_id, e.t, e.values);
      added = true;
    }
    if (added) set((s) => ({ samples: { book, revision: s.samples.revision + 1 } }));
  },
});
