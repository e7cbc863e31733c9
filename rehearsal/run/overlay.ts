// The rehearsal of one overlay, whatever its shape: blue-green's two StatefulSets have their own runner
// (blue-green.ts), every other overlay runs one StatefulSet (rehearse.ts).
import type { RolloutPlan } from '../plan.ts';
import type { ReleaseScenario, RunResult } from '../result.ts';
import { rehearseBlueGreen } from './blue-green.ts';
import type { RehearsalOptions } from './options.ts';
import { rehearseStatefulSet } from './rehearse.ts';

export type { RehearsalOptions } from './options.ts';

export function rehearseOverlay(plan: RolloutPlan, scenarios: readonly ReleaseScenario[], options: RehearsalOptions): Promise<RunResult[]> {
  return plan.blueGreen ? rehearseBlueGreen(plan, scenarios, options) : rehearseStatefulSet(plan, scenarios, options);
}
