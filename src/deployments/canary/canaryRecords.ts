import { changeRecord, type SharedStore } from '../../store';
import type { CanaryResult } from './canaryRun';

/**
 * The last runs of a deployment's canary, kept in the shared store so that `GET /canary` on any instance shows them,
 * whichever instance ran each. One key holds the newest `keep`, replaced by compare-and-swap: only the instance that
 * holds an interval's lease writes, so a swap rarely has to be tried again.
 */

export interface CanaryRecord extends CanaryResult {
  /** The interval the run was for: its start, epoch ms divided by the interval. */
  slot: number;
  startedAt: string;
  /** The trace of the run: its log lines and spans carry it. */
  traceId: string;
  /** Which instance ran it (its id in the shared store). */
  instance: string;
}

const KEY = 'canary:runs';
/** Tries of a swap that another writer overtook. */
const SWAP_TRIES = 5;

export class CanaryRecords {
  constructor(
    private readonly store: Pick<SharedStore, 'get' | 'claim' | 'swap'>,
    private readonly keep: number,
    /** How long the list outlives its last run. */
    private readonly ttlMs: number,
  ) {}

  /**
   * The newest runs first, by when each began: a run that outlasts its interval is still listed behind the next
   * interval's run. A list the store cannot read, or one that does not parse, reads as none.
   */
  async recent(): Promise<CanaryRecord[]> {
    return parse(await this.store.get(KEY));
  }

  /** Adds a run; given up (the run goes unlisted) when other writers overtook every try. */
  async add(record: CanaryRecord): Promise<void> {
    await changeRecord(
      this.store,
      KEY,
      this.ttlMs,
      (before) => {
        // In the order runs began, not the order they ended: a slow run ends after the next interval's run began.
        // Not by slot: a slot counts intervals of the interval then set, so slots from before a change compare wrong.
        const runs = [record, ...parse(before)].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
        return { write: JSON.stringify(runs.slice(0, this.keep)), answer: undefined };
      },
      SWAP_TRIES,
    );
  }
}

function parse(text: string | undefined): CanaryRecord[] {
  if (text === undefined) return [];
  try {
    const list: unknown = JSON.parse(text);
    return Array.isArray(list) ? (list as CanaryRecord[]) : [];
  } catch {
    return [];
  }
}
