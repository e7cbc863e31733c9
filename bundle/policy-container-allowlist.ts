// Policy: every container of every pod template in an overlay sets only what rehearsal/model/container-allowlist.ts
// allows. The rehearsal and the node agent refuse anything else when they run it; this rule refuses it at
// `npm run validate`, before anyone runs the overlay (an overlay adding NODE_OPTIONS to the app container validated
// ok, and `rollcall compare` then ran its code as root in every rehearsal process).
import { checkPodSpec } from '../rehearsal/model/container-allowlist.ts';
import { podTemplates } from './policy-basics.ts';
import { describe } from './schema.ts';
import type { K8sObject, Problem } from './types.ts';

export function checkContainerAllowlist(overlay: string, objects: readonly K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const template of podTemplates(objects)) {
    const result = checkPodSpec(template.spec);
    if (!result.ok) problems.push({ scope: overlay, object: describe(template.owner), field: `${template.path}.${result.field}`, message: `${result.reason} (container allowlist)` });
  }
  return problems;
}
