// The command line of `rollcall`, read and checked before anything runs: every wrong input is refused in one line
// that names what was wrong and what is accepted, so a typo costs a second, not a rehearsal of minutes. Node's
// parseArgs splits the words (non-strict, so that its own error wording never reaches the user); each check here
// is ours. Checks that need the overlays rendered (can the delivery drive them?) are in scripts/rollcall.ts.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** A wrong command line: its message is the one line the user sees (after "rollcall: "). */
export class UsageError extends Error {}

export const COMMANDS = ['compare'] as const;
export const DELIVERIES = ['kubectl', 'argocd'] as const;

/** Where the rehearsal runs: the model (default), the local control plane, or a kube context the user has. */
export type ClusterChoice = { kind: 'model' } | { kind: 'local' } | { kind: 'context'; context: string };

export interface CompareArgs {
  cluster: ClusterChoice;
  overlays: string[] | undefined;
  scenarios: string[] | undefined;
  delivery: (typeof DELIVERIES)[number];
  /** undefined: the delivery's default. */
  argocdRefreshSeconds: number | undefined;
  timeScale: number;
  /** The model's pod start latency in seconds of cluster time; undefined: its default (measured on a real cluster). */
  podStartSeconds: number | undefined;
  /** The Kubernetes version the model follows; undefined: the local control plane's. */
  kubernetes: string | undefined;
  /** How the load's clients hold connections; undefined: keep-alive. */
  clients: 'keep-alive' | 'per-request' | undefined;
  connections: number;
  rate: number;
  json: boolean;
  html: string | undefined;
}

export type CommandLine = { command: 'help' } | { command: 'compare'; args: CompareArgs };

/** What the command line may name, from the repository (overlays) and the rehearsal (scenarios). */
export interface Choices {
  overlays: readonly string[];
  scenarios: readonly string[];
  defaults: { timeScale: number; connections: number; rate: number };
}

const OPTIONS = {
  overlay: { type: 'string', multiple: true },
  scenario: { type: 'string', multiple: true },
  delivery: { type: 'string' },
  cluster: { type: 'string' },
  'argocd-refresh': { type: 'string' },
  'time-scale': { type: 'string' },
  'pod-start': { type: 'string' },
  kubernetes: { type: 'string' },
  clients: { type: 'string' },
  connections: { type: 'string' },
  rate: { type: 'string' },
  json: { type: 'boolean' },
  html: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const optionList = () => Object.keys(OPTIONS).map((name) => `--${name}`).join(', ');

/** Edit distance, for "did you mean": a typo of one or two letters is what people make. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

export function didYouMean(value: string, accepted: readonly string[]): string {
  const near = accepted.filter((a) => distance(value, a) <= Math.max(1, Math.min(2, Math.floor(a.length / 3))));
  return near.length > 0 ? ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : '';
}

function oneOf(what: string, value: string, accepted: readonly string[]): string {
  return `${what} "${value}"${didYouMean(value, accepted)}; accepted: ${accepted.join(', ')}`;
}

/** A decimal number (no hex, exponent, blank or sign: what a person types), within [min, max]. */
function number(option: string, raw: string, min: number, max: number, { integer = false, exclusiveMin = false } = {}): number {
  const value = /^-?(\d+(\.\d+)?|\.\d+)$/.test(raw) ? Number(raw) : Number.NaN;
  const ok = Number.isFinite(value) && (exclusiveMin ? value > min : value >= min) && value <= max && (!integer || Number.isInteger(value));
  if (!ok) {
    const range = exclusiveMin ? `greater than ${min} and at most ${max}` : `${min} to ${max}`;
    throw new UsageError(`--${option} "${raw}" is not accepted; accepted: ${integer ? 'a whole number' : 'a number'} ${range}`);
  }
  return value;
}

/** Reads argv (without `node` and the script). Throws UsageError on the first wrong word. */
export function parseCommandLine(argv: readonly string[], choices: Choices): CommandLine {
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  const problems: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option-terminator') continue;
    else {
      const spec = (OPTIONS as Record<string, { type: 'string' | 'boolean' }>)[token.name];
      if (!spec) {
        problems.push(`unknown option ${token.rawName}${didYouMean(token.rawName, Object.keys(OPTIONS).map((n) => `--${n}`))}; accepted: ${optionList()}`);
        continue;
      }
      if (spec.type === 'boolean') {
        if (token.value !== undefined) problems.push(`${token.rawName} takes no value (got "${token.value}")`);
        if (token.name === 'help') help = true;
        else values.set(token.name, ['true']);
        continue;
      }
      // Non-strict parseArgs takes the next word even when it is an option (`--overlay --json`): that is a value
      // missing; a negative number (`--rate -3`) is a value, refused by the range check below.
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-') && !/^-[\d.]/.test(token.value))) {
        problems.push(`${token.rawName} needs a value${accepts(token.name, choices)}`);
        continue;
      }
      values.set(token.name, [...(values.get(token.name) ?? []), token.value]);
    }
  }
  if (help || positionals[0] === 'help') return { command: 'help' };
  if (problems.length > 0) throw new UsageError(problems[0]!);
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError(`no command given; accepted: ${COMMANDS.join(', ')} (rollcall --help shows the options)`);
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(oneOf('unknown command', command, COMMANDS));
  if (rest.length > 0) {
    const word = rest[0]!;
    const hint = choices.overlays.includes(word)
      ? `: to rehearse one overlay, write --overlay ${word}`
      : (choices.scenarios as readonly string[]).includes(word)
        ? `: to rehearse one scenario, write --scenario ${word}`
        : `; compare takes options only: ${optionList()}`;
    throw new UsageError(`compare: unexpected argument "${word}"${hint}`);
  }

  const one = (name: string) => values.get(name)?.at(-1);
  const overlays = values.get('overlay');
  for (const overlay of overlays ?? []) {
    if (!choices.overlays.includes(overlay)) throw new UsageError(oneOf('--overlay: unknown overlay', overlay, choices.overlays));
  }
  const scenarios = values.get('scenario');
  for (const scenario of scenarios ?? []) {
    if (scenario !== 'all' && !choices.scenarios.includes(scenario)) throw new UsageError(oneOf('--scenario: unknown scenario', scenario, [...choices.scenarios, 'all']));
  }
  const delivery = one('delivery') ?? 'kubectl';
  if (!(DELIVERIES as readonly string[]).includes(delivery)) throw new UsageError(oneOf('--delivery: unknown delivery', delivery, DELIVERIES));
  const d = choices.defaults;
  const refresh = one('argocd-refresh');
  const scale = one('time-scale');
  const cluster = parseCluster(one('cluster'));
  if (cluster.kind !== 'model') {
    // A real cluster runs the manifests' own timings: nothing there can be scaled.
    if (scale !== undefined && Number(scale) !== 1) throw new UsageError(`--time-scale ${scale} with --cluster: a real cluster runs the manifests' own timings; accepted: --time-scale 1 or none`);
    // The real Argo CD runs beside the local control plane; Argo CD on a user's cluster reads the user's repositories,
    // which this command does not push to.
    if (delivery === 'argocd' && cluster.kind === 'context') throw new UsageError('--delivery argocd with --cluster context=NAME: the real Argo CD runs beside --cluster local only (Argo CD on your cluster reads your repositories, which compare does not push to); accepted: --cluster local, or --delivery kubectl');
    if (refresh !== undefined) throw new UsageError('--argocd-refresh with --cluster: the real Argo CD is told of each commit at once (a refresh request, as a Git webhook does); accepted: --cluster without --argocd-refresh');
    if (one('kubernetes') !== undefined) throw new UsageError('--kubernetes with --cluster: a real cluster is its own version; accepted: --cluster without --kubernetes');
    if (one('pod-start') !== undefined) throw new UsageError('--pod-start with --cluster: a real cluster starts pods in its own time (measured, figures.podStartMs); accepted: --cluster without --pod-start');
  }
  const connections = one('connections');
  const rate = one('rate');
  return {
    command: 'compare',
    args: {
      overlays: overlays && [...new Set(overlays)],
      scenarios,
      delivery: delivery as CompareArgs['delivery'],
      argocdRefreshSeconds: refresh === undefined ? undefined : number('argocd-refresh', refresh, 0, 3600),
      cluster,
      timeScale: cluster.kind !== 'model' ? 1 : scale === undefined ? d.timeScale : number('time-scale', scale, 0, 10, { exclusiveMin: true }),
      kubernetes: kubernetesVersion(one('kubernetes')),
      clients: clientsOf(one('clients')),
      podStartSeconds: one('pod-start') === undefined ? undefined : number('pod-start', one('pod-start')!, 0, 600),
      connections: connections === undefined ? d.connections : number('connections', connections, 1, 256, { integer: true }),
      rate: rate === undefined ? d.rate : number('rate', rate, 1, 10_000),
      json: values.has('json'),
      html: one('html'),
    },
  };
}

const CLIENTS = ['keep-alive', 'per-request'] as const;
function clientsOf(raw: string | undefined): CompareArgs['clients'] {
  if (raw === undefined) return undefined;
  if (!(CLIENTS as readonly string[]).includes(raw)) throw new UsageError(oneOf('--clients', raw, CLIENTS));
  return raw as CompareArgs['clients'];
}

function kubernetesVersion(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^v?1\.\d{1,2}(\.\d{1,3})?$/.test(raw)) throw new UsageError(`--kubernetes "${raw}" is not accepted; accepted: a Kubernetes version such as 1.37.2, 1.36 or 1.35.2`);
  return raw.replace(/^v/, '');
}

const CLUSTER_FORMS = 'model (default), local (a control plane of this machine, needs root), context=NAME (a context of your kubeconfig)';

function parseCluster(raw: string | undefined): ClusterChoice {
  if (raw === undefined || raw === 'model') return { kind: 'model' };
  if (raw === 'local') return { kind: 'local' };
  const m = /^context=(.+)$/.exec(raw);
  if (m?.[1] && /^[\w.@:/-]+$/.test(m[1])) return { kind: 'context', context: m[1] };
  throw new UsageError(`--cluster "${raw}" is not accepted; accepted: ${CLUSTER_FORMS}`);
}

function accepts(option: string, choices: Choices): string {
  switch (option) {
    case 'cluster':
      return `; accepted: ${CLUSTER_FORMS}`;
    case 'overlay':
      return `; accepted: ${choices.overlays.join(', ')}`;
    case 'scenario':
      return `; accepted: ${[...choices.scenarios, 'all'].join(', ')}`;
    case 'delivery':
      return `; accepted: ${DELIVERIES.join(', ')}`;
    case 'html':
      return ': the file to write the report to, e.g. report.html';
    default:
      return ': a number';
  }
}

/**
 * The report file must be writable now, not after minutes of rehearsal: an existing directory, an existing file
 * that cannot be written, or a folder that is missing, not a folder or not writable is refused.
 */
export async function checkReportPath(file: string): Promise<void> {
  const resolved = path.resolve(file);
  const existing = await stat(resolved).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`--html ${file} is a directory; accepted: a file path, e.g. ${path.join(file, 'report.html')}`);
  if (existing) {
    await access(resolved, constants.W_OK).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`--html ${file}: the file exists and cannot be written (${error.code}); accepted: a writable file path`);
    });
    return;
  }
  const folder = path.dirname(resolved);
  const parent = await stat(folder).catch(() => undefined);
  if (!parent) throw new UsageError(`--html ${file}: the folder ${folder} does not exist; accepted: a file in an existing, writable folder`);
  if (!parent.isDirectory()) throw new UsageError(`--html ${file}: ${folder} is not a folder; accepted: a file in an existing, writable folder`);
  await access(folder, constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--html ${file}: the folder ${folder} is not writable (${error.code}); accepted: a file in an existing, writable folder`);
  });
}
