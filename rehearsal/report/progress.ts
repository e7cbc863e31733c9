// The progress line `rollcall compare` writes to stderr while it works: where it is in the matrix (overlay k of n,
// the scenario, the phase), how long it has run and about how long is left, in words a person reads at a glance.
// One clock only (wall time since the comparison started); the estimate is the average run so far times the runs
// left, so it is only given once a run has finished (the average is taken when the last run ended).

export interface ProgressPoint {
  overlay: string;
  /** 0-based position of the overlay, and how many there are. */
  overlayIndex: number;
  overlays: number;
  /** The scenario ('launch' while the overlay's StatefulSet starts) and its 0-based position among the scenarios. */
  scenario: string;
  scenarioIndex: number;
  scenarios: number;
  phase: string;
  elapsedMs: number;
  /** Elapsed time when the last finished run ended (the estimate's base: an unfinished run would skew it). */
  finishedAtMs?: number;
}

/** "45 s", "3 min 05 s", "1 h 02 min": wall time as a person says it. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Runs finished before this point: every scenario of the earlier overlays, and the earlier scenarios of this one. */
export function runsDone(p: ProgressPoint): number {
  return p.overlayIndex * p.scenarios + (p.scenario === 'launch' ? 0 : p.scenarioIndex);
}

export function timeLeft(p: ProgressPoint): string {
  const done = runsDone(p);
  const total = p.overlays * p.scenarios;
  if (done === 0) return 'time left known after the first run';
  const expectedTotal = ((p.finishedAtMs ?? p.elapsedMs) / done) * total;
  return `about ${formatDuration(Math.max(0, expectedTotal - p.elapsedMs))} left`;
}

export function progressLine(p: ProgressPoint): string {
  const scenario = p.scenario === 'launch' ? 'starting v1' : `${p.scenario} (scenario ${p.scenarioIndex + 1} of ${p.scenarios})`;
  return `overlay ${p.overlayIndex + 1} of ${p.overlays} ${p.overlay} · ${scenario} · ${p.phase} · ${formatDuration(p.elapsedMs)} elapsed · ${timeLeft(p)}`;
}
