// `rollcall compare`: render each overlay with real kustomize, rehearse its rollout with real server processes
// under load, and print the figures side by side.
import path from 'node:path';
import { listOverlays } from '../bundle/files.ts';
import { findRenderer, noRendererMessage, render } from '../bundle/render.ts';
import { repoRoot } from '../bundle/schema.ts';
import { describePlan, planFromObjects, type RolloutPlan } from './plan.ts';
import { rehearse, type RehearsalOptions, type RehearsalResult } from './rehearse.ts';

export async function loadPlans(overlays: readonly string[] = listOverlays(repoRoot)): Promise<RolloutPlan[]> {
  const renderer = findRenderer();
  if (!renderer) throw new Error(noRendererMessage);
  const plans: RolloutPlan[] = [];
  for (const overlay of overlays) {
    const { objects } = await render(renderer, path.join('kustomize', 'overlays', overlay), repoRoot);
    plans.push(planFromObjects(overlay, objects));
  }
  return plans;
}

export async function compare(
  overlays: readonly string[] | undefined,
  options: RehearsalOptions,
  progress: (line: string) => void = () => {},
): Promise<{ plan: RolloutPlan; result: RehearsalResult }[]> {
  const rows = [];
  for (const plan of await loadPlans(overlays)) {
    progress(`${plan.overlay}: ${describePlan(plan)}`);
    rows.push({ plan, result: await rehearse(plan, options) });
  }
  return rows;
}

export function formatTable(rows: readonly { plan: RolloutPlan; result: RehearsalResult }[]): string {
  const header = ['overlay', 'strategy', 'replaced', 'duration', 'downtime', 'longest gap', 'failed/requests', 'lost', 'duplicated'];
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const lines = rows.map(({ plan, result }) => [
    plan.overlay,
    plan.update.type === 'OnDelete' ? (plan.update.deleteAll ? 'recreate (OnDelete + hook)' : 'OnDelete') : `rolling (${plan.podManagementPolicy}${plan.update.partition ? `, partition ${plan.update.partition}` : ''})`,
    `${result.podsReplaced}/${plan.replicas}`,
    seconds(result.durationMs),
    seconds(result.downtimeMs),
    seconds(result.longestGapMs),
    `${result.failed}/${result.requests}`,
    String(result.lost),
    String(result.duplicated),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}
