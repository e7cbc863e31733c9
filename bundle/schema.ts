// Schema validation of Kubernetes / Argo objects, in two layers:
//  1. runtime: the model's validate() from kubernetes-models / @kubernetes-models/argo-cd / argo-rollouts
//     (types, enums, required fields, formats) — but it accepts unknown fields;
//  2. strict: the same packages' generated TypeScript interfaces (I<Kind>), checked by the project's tsc in one
//     batch over a generated file. For every object node of every manifest it emits small `satisfies` statements
//     against the type at that position: one per key name (an unknown field at any depth), one for the required
//     keys, one per scalar value (wrong type or enum value). A line -> JSON path map turns each diagnostic back
//     into "object, field, message". Everything is reported in one run, not just tsc's first error per literal.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { K8sObject, Problem } from './types.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const argoCdKinds = new Set(['Application', 'ApplicationSet', 'AppProject']);
const argoRolloutsKinds = new Set(['Rollout', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun', 'Experiment']);

export interface SchemaRef {
  module: string;
  kind: string;
  typeName: string;
}

/** Where the model of apiVersion/kind lives, or undefined when no installed package has it. */
export function schemaFor(apiVersion: unknown, kind: unknown): SchemaRef | undefined {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !/^[A-Za-z0-9]+$/.test(kind)) return undefined;
  let module: string;
  if (apiVersion === 'argoproj.io/v1alpha1' && argoCdKinds.has(kind)) module = `@kubernetes-models/argo-cd/argoproj.io/v1alpha1/${kind}`;
  else if (apiVersion === 'argoproj.io/v1alpha1' && argoRolloutsKinds.has(kind)) module = `@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/${kind}`;
  else if (/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion) && !apiVersion.startsWith('argoproj.io/')) module = `kubernetes-models/${apiVersion}/${kind}`;
  else return undefined;
  if (!existsSync(join(repoRoot, 'node_modules', `${module}.d.ts`))) return undefined;
  return { module, kind, typeName: `I${kind}` };
}

export function describe(obj: K8sObject): string {
  return `${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}`;
}

/** instancePath "/spec/template/0/x" -> "spec.template[0].x" */
export function jsonPointerToField(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Layer 1: the packages' runtime validate(). */
export async function validateRuntime(scope: string, obj: K8sObject): Promise<Problem[]> {
  const ref = schemaFor(obj.apiVersion, obj.kind);
  const object = describe(obj);
  if (!ref) return [{ scope, object, field: 'apiVersion/kind', message: `no schema for ${String(obj.apiVersion)} ${String(obj.kind)} in kubernetes-models / @kubernetes-models/*` }];
  const mod = (await import(ref.module)) as Record<string, ModelClass | undefined>;
  const Model = mod[ref.kind];
  if (!Model) return [{ scope, object, field: 'kind', message: `${ref.module} exports no ${ref.kind}` }];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath?: string; message?: string; params?: unknown }[] }).errors;
    if (!Array.isArray(errors)) return [{ scope, object, field: '', message: String((err as Error).message) }];
    return errors.map((e) => ({
      scope,
      object,
      field: jsonPointerToField(e.instancePath ?? ''),
      message: `${e.message ?? 'invalid'}${e.params && 'allowedValues' in (e.params as object) ? ` ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}` : ''} (schema)`,
    }));
  }
}

// ---- Layer 2: strict check through the generated TypeScript interfaces ----

interface Emitted {
  lines: string[];
  /** JSON path of the value that starts on each line (same index as lines). */
  paths: string[];
  /** Lines that check one key name (a failure there means "unknown field"). */
  keyLines: Set<number>;
  /** Lines that check the required fields of an object are present. */
  requiredLines: Set<number>;
}

function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object' && (!Array.isArray(v) || v.some((e) => e !== null && typeof e === 'object'));

/**
 * Emits, for every object (and array of objects) in the tree, one `satisfies` statement that checks only its keys
 * (every value replaced by `N`, type never, assignable to anything): excess-property errors = unknown fields, and
 * missing required fields. Every scalar (or array of scalars) gets its own one-line statement against the type of
 * its position (`S<parent, "key">`, `E<array>`): wrong types and enum values. Nested objects recurse the same way.
 * One statement per concern matters: in a single literal tsc reports a property's type error *instead of* an
 * unknown sibling field, and stops at the first failing branch. Each line maps back to the field's JSON path.
 */
function emitNode(value: object, path: string, type: string, out: Emitted, next: () => number): void {
  const push = (text: string, p: string) => {
    out.lines.push(text);
    out.paths.push(p);
  };
  const id = next();
  push(`type t${id} = ${type};`, path);
  const entries: [string, unknown, string][] = Array.isArray(value)
    ? value.map((v, i) => [fieldPath(path, i), v, `E<t${id}>`])
    : Object.entries(value).map(([k, v]) => [fieldPath(path, k), v, `S<t${id}, ${JSON.stringify(k)}>`]);
  if (Array.isArray(value)) {
    push(`export const v${id} = [`, path);
    for (const [p] of entries) push('  N,', p);
    push(`] satisfies t${id};`, path);
  } else {
    // Shape only (an object where an object belongs); missing fields are the next statement's job.
    push(`export const v${id} = {`, path);
    Object.keys(value).forEach((k, i) => push(`  ${JSON.stringify(k)}: N,`, entries[i]![0]));
    push(`} satisfies Partial<t${id}>;`, path);
    const have = Object.keys(value).map((k) => JSON.stringify(k)).join(' | ') || 'never';
    push(`export const v${id}_r: Missing<t${id}, ${have}> = true;`, path);
    out.requiredLines.add(out.lines.length - 1);
    // tsc names only the first excess property of a literal: check every key on its own line as well.
    Object.keys(value).forEach((k, i) => {
      push(`export const v${id}_k${i} = ${JSON.stringify(k)} satisfies K<t${id}>;`, entries[i]![0]);
      out.keyLines.add(out.lines.length - 1);
    });
  }
  let scalar = 0;
  for (const [p, v, t] of entries) {
    if (isContainer(v)) continue;
    push(`export const v${id}_${scalar++} = ${v === undefined ? 'undefined' : JSON.stringify(v)} satisfies ${t};`, p);
  }
  for (const [p, v, t] of entries) if (isContainer(v)) emitNode(v, p, t, out, next);
}

/** Type helpers of the generated file: the type at a key (through unions and index signatures) and of an element. */
const typeHelpers = [
  'declare const N: never;',
  'type P<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;',
  // An unknown key is reported on its parent's line; its subtree is then checked against `unknown` (no noise).
  'type S<T, K extends PropertyKey> = [P<NonNullable<T>, K>] extends [never] ? unknown : P<NonNullable<T>, K>;',
  'type E<T> = NonNullable<T> extends readonly (infer U)[] ? U : unknown;',
  // The key names allowed at a position (any key where the type is unknown or has an index signature).
  'type K<T> = unknown extends T ? PropertyKey : NonNullable<T> extends infer U ? (U extends unknown ? keyof U : never) : never;',
  // The required keys of a position, and `true` when all of them are among `Have` (else the missing ones).
  'type R<T> = T extends unknown ? { [Q in keyof T]-?: {} extends Pick<T, Q> ? never : Q }[keyof T] : never;',
  'type Missing<T, Have> = [Exclude<R<NonNullable<T>>, Have>] extends [never] ? true : Exclude<R<NonNullable<T>>, Have>;',
];

export interface StrictItem {
  scope: string;
  obj: K8sObject;
}

const execFileP = promisify(execFile);

/** Runs tsc once over all items; returns one Problem per diagnostic (unknown field, wrong type or enum). */
export async function validateStrict(items: readonly StrictItem[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  const imports = new Map<string, string>();
  const out: Emitted = { lines: [], paths: [], keyLines: new Set(), requiredLines: new Set() };
  const owners: (number | undefined)[] = [];
  const header: string[] = ['// Generated by bundle/schema.ts: strict (unknown-field) check. Do not edit.', ...typeHelpers];
  let counter = 0;
  const next = () => counter++;
  items.forEach((item, i) => {
    const ref = schemaFor(item.obj.apiVersion, item.obj.kind);
    if (!ref) return; // reported by validateRuntime
    let alias = imports.get(`${ref.module}#${ref.typeName}`);
    if (!alias) {
      alias = `T${imports.size}`;
      imports.set(`${ref.module}#${ref.typeName}`, alias);
      header.push(`import type { ${ref.typeName} as ${alias} } from ${JSON.stringify(ref.module)};`);
    }
    const before = out.lines.length;
    emitNode(item.obj, '', alias, out, next);
    for (let l = before; l < out.lines.length; l++) owners[l] = i;
  });
  if (out.lines.length === 0) return problems;
  const base = join(repoRoot, '.tmp');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'strict-'));
  try {
    writeFileSync(join(dir, 'check.ts'), [...header, ...out.lines, ''].join('\n'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'esnext', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ['check.ts'],
      }),
    );
    const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
    let stdout = '';
    try {
      await execFileP(tsc, ['-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; code?: unknown };
      stdout = `${e.stdout ?? ''}${e.stderr ?? ''}`;
      if (stdout.trim() === '') throw new Error(`tsc could not run: ${(err as Error).message}`);
    }
    const offset = header.length;
    const diagnostics = stdout.split('\n').reduce<string[]>((acc, line) => {
      if (/^\S.*\(\d+,\d+\): error TS\d+:/.test(line) || acc.length === 0) acc.push(line);
      else acc[acc.length - 1] += `\n${line}`;
      return acc;
    }, []);
    const found: { problem: Problem; key: string; keyCheck: boolean }[] = [];
    for (const d of diagnostics) {
      if (d.trim() === '') continue;
      const m = /\((\d+),(\d+)\): error (TS\d+): ([\s\S]*)$/.exec(d);
      const lineNo = m ? Number(m[1]) - 1 - offset : -1;
      const owner = lineNo >= 0 ? owners[lineNo] : undefined;
      const item = owner === undefined ? undefined : items[owner];
      if (!m || !item) {
        problems.push({ scope: 'strict-schema', object: '-', field: '-', message: `tsc: ${d.trim()}` });
        continue;
      }
      const field = out.paths[lineNo] ?? '';
      const keyCheck = out.keyLines.has(lineNo);
      const name = /\[([^\]]*)\]$|([^.]+)$/.exec(field);
      const first = (m[4] ?? '').trim().split('\n')[0]!;
      const message = keyCheck
        ? `unknown field "${name?.[1] ?? name?.[2] ?? field}"`
        : out.requiredLines.has(lineNo)
          ? `missing required field(s) ${/type '(.*)'\.?$/.exec(first)?.[1] ?? first}`
          : first;
      found.push({ problem: { scope: item.scope, object: describe(item.obj), field, message: `${message} (strict schema)` }, key: `${owner}|${field}`, keyCheck });
    }
    // tsc's own excess-property message repeats one of the "unknown field" findings: keep the key check's.
    const unknown = new Set(found.filter((f) => f.keyCheck).map((f) => f.key));
    problems.push(...found.filter((f) => f.keyCheck || !unknown.has(f.key)).map((f) => f.problem));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

/** Both layers over many objects. */
export async function validateSchemas(items: readonly StrictItem[]): Promise<Problem[]> {
  const runtime = await Promise.all(items.map((i) => validateRuntime(i.scope, i.obj)));
  return [...runtime.flat(), ...(await validateStrict(items))];
}
