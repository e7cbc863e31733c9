// What a scenario is and what it reports. A scenario gets a Context, records figures and checks on it, and
// registers clean-up; run.ts runs them one after another and prints the summary table.
import fs from 'node:fs';
import { tempDir } from './harness.ts';

export interface Requirements {
  root?: boolean;
  /** Commands that must be on PATH. */
  tools?: string[];
  /** Needs to create private mount namespaces (unshare -m). */
  mountNamespace?: boolean;
  /** Needs to create a memory cgroup (testing/faults/memory-cgroup.ts). */
  memoryCgroup?: boolean;
}

export interface Scenario {
  name: string;
  /** One line: what the scenario proves. */
  proves: string;
  needs: Requirements;
  run(ctx: Context): Promise<void>;
}

export interface Figures {
  runs: number;
  acknowledged: number;
  lost: number;
  corrupt: number;
}

export class Context {
  readonly figures: Figures = { runs: 0, acknowledged: 0, lost: 0, corrupt: 0 };
  readonly failures: string[] = [];
  readonly notes: string[] = [];
  readonly #cleanups: (() => unknown)[] = [];
  readonly #verbose: boolean;
  readonly name: string;

  constructor(name: string, verbose: boolean) {
    this.name = name;
    this.#verbose = verbose;
  }

  /** Records a failure unless `condition` holds. Returns the condition so callers can branch on it. */
  check(condition: boolean, message: string): boolean {
    if (!condition) {
      this.failures.push(message);
      this.log(`FAIL: ${message}`);
    }
    return condition;
  }

  /** A figure worth printing under the table (and copying into docs/guarantees.md). */
  note(message: string): void {
    this.notes.push(message);
    this.log(message);
  }

  log(message: string): void {
    if (this.#verbose) console.log(`  [${this.name}] ${message}`);
  }

  defer(cleanup: () => unknown): void {
    this.#cleanups.push(cleanup);
  }

  /** A fresh temp dir under os.tmpdir(), removed after the scenario. */
  tempDir(tag = this.name): string {
    const dir = tempDir(tag);
    this.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  async cleanUp(): Promise<void> {
    for (const cleanup of this.#cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        this.failures.push(`clean-up failed: ${(error as Error).message}`);
      }
    }
  }
}
