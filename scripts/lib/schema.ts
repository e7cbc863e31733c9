// Schema validation of Kubernetes / Argo objects, in two layers:
//  1. runtime: the model's validate() from kubernetes-models / @kubernetes-models/argo-cd / argo-rollouts
//     (types, enums, required fields, formats) — but it accepts unknown fields;
//  2. strict: every object is written out as a TypeScript object literal `satisfies I<Kind>` (the same packages'
//     generated interfaces) and type-checked with the project's tsc in one batch. Excess-property checking rejects
//     any field the schema does not know, at any depth, and literal unions reject wrong enum values.
//     A line -> JSON path map turns each diagnostic back into "object, field, message".
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { K8sObject, Problem } from './types.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

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
}

function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

function emit(value: unknown, path: string, indent: string, prefix: string, suffix: string, out: Emitted): void {
  const push = (text: string, p: string) => {
    out.lines.push(indent + text);
    out.paths.push(p);
  };
  if (Array.isArray(value)) {
    if (value.length === 0) return push(`${prefix}[]${suffix}`, path);
    push(`${prefix}[`, path);
    value.forEach((v, i) => emit(v, fieldPath(path, i), `${indent}  `, '', ',', out));
    push(`]${suffix}`, path);
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return push(`${prefix}{}${suffix}`, path);
    push(`${prefix}{`, path);
    for (const [k, v] of entries) emit(v, fieldPath(path, k), `${indent}  `, `${JSON.stringify(k)}: `, ',', out);
    push(`}${suffix}`, path);
  } else if (value === undefined) {
    push(`${prefix}undefined${suffix}`, path);
  } else {
    push(`${prefix}${JSON.stringify(value)}${suffix}`, path);
  }
}

export interface StrictItem {
  scope: string;
  obj: K8sObject;
}

const execFileP = promisify(execFile);

/** Runs tsc once over all items; returns one Problem per diagnostic (unknown field, wrong type or enum). */
export async function validateStrict(items: readonly StrictItem[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  const imports = new Map<string, string>();
  const out: Emitted = { lines: [], paths: [] };
  const owners: (number | undefined)[] = [];
  const header: string[] = ['// Generated by scripts/lib/schema.ts: strict (unknown-field) check. Do not edit.'];
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
    emit(item.obj, '', '', `export const o${i} = `, ` satisfies ${alias};`, out);
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
      const message = (m[4] ?? '').trim().split('\n')[0]!;
      problems.push({ scope: item.scope, object: describe(item.obj), field: out.paths[lineNo] ?? '', message: `${message} (strict schema)` });
    }
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
