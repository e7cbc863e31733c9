// Just enough of the go.mod grammar (https://go.dev/ref/mod#go-mod-file-grammar) to read require directives and to
// swap one replace block, so the generator and its test need no Go toolchain. Comments are dropped, quoted paths are
// unquoted; nothing else of go.mod is interpreted.

export interface ModuleVersion {
  path: string;
  version: string;
}

/** Strips a `//` comment (go.mod has no block comments and no `//` inside module paths or versions). */
function stripComment(line: string): string {
  const at = line.indexOf('//');
  return (at === -1 ? line : line.slice(0, at)).trim();
}

const unquote = (token: string) => token.replace(/^"(.*)"$/, '$1');

/** Every `require` of a go.mod text, from `require x v` lines and `require ( ... )` blocks alike. */
export function requirements(goMod: string): ModuleVersion[] {
  const out: ModuleVersion[] = [];
  let inBlock = false;
  for (const raw of goMod.split('\n')) {
    const line = stripComment(raw);
    if (inBlock) {
      if (line === ')') inBlock = false;
      else if (line !== '') out.push(spec(line, raw));
      continue;
    }
    if (/^require\s*\($/.test(line)) inBlock = true;
    else if (/^require\s/.test(line)) out.push(spec(line.replace(/^require\s+/, ''), raw));
  }
  return out;
}

function spec(line: string, raw: string): ModuleVersion {
  const [path, version, ...rest] = line.split(/\s+/);
  if (path === undefined || version === undefined || rest.length > 0) throw new Error(`go.mod: cannot read requirement ${JSON.stringify(raw.trim())}`);
  return { path: unquote(path), version };
}

/** The version at which `goMod` requires `path`; throws when it does not. */
export function requiredVersion(goMod: string, path: string): string {
  const found = requirements(goMod).find((r) => r.path === path);
  if (!found) throw new Error(`go.mod does not require ${path}`);
  return found.version;
}

/** Every `replace old [v] => new v` of a go.mod text whose target is a module version (local-path targets are skipped). */
export function replacements(goMod: string): Map<string, ModuleVersion> {
  const out = new Map<string, ModuleVersion>();
  let inBlock = false;
  const add = (line: string, raw: string) => {
    const m = /^(\S+)(?:\s+\S+)?\s+=>\s+(\S+)(?:\s+(\S+))?$/.exec(line);
    if (!m) throw new Error(`go.mod: cannot read replacement ${JSON.stringify(raw.trim())}`);
    if (m[3] !== undefined) out.set(unquote(m[1]!), { path: unquote(m[2]!), version: m[3] });
  };
  for (const raw of goMod.split('\n')) {
    const line = stripComment(raw);
    if (inBlock) {
      if (line === ')') inBlock = false;
      else if (line !== '') add(line, raw);
      continue;
    }
    if (/^replace\s*\($/.test(line)) inBlock = true;
    else if (/^replace\s/.test(line)) add(line.replace(/^replace\s+/, ''), raw);
  }
  return out;
}

/** The module versions a build with this go.mod fetches for its requirements: each requirement, replaced if it is. */
export function effectiveRequirements(goMod: string): ModuleVersion[] {
  const replaced = replacements(goMod);
  return requirements(goMod).map((r) => replaced.get(r.path) ?? r);
}
