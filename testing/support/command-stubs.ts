// Stand-in programs for the cluster scripts' tests: `kind`, `kubectl`, `docker` and `git` in a temp directory put first
// on PATH. Each records its command line and answers from rules the test gives (first matching rule with uses left):
// print this and exit with that code, or run a snippet of shell with the call's arguments as "$@" (e.g. a `git clone`
// that makes the directory the script goes on to edit). A call no rule matches succeeds silently.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const stubbedTools = ['kind', 'kubectl', 'docker', 'git'] as const;
export type StubbedTool = (typeof stubbedTools)[number];

export interface StubRule {
  tool: StubbedTool;
  /** An extended regular expression (grep -E) matched against "tool arg1 arg2 ...". */
  match: string;
  /** How many calls this rule answers; default every one. */
  times?: number;
  exit?: number;
  stdout?: string;
  /** Shell run instead of printing, with the call's arguments as "$@"; its status is the call's. */
  exec?: string;
}

export interface Stubs {
  /** Put this first on PATH. */
  bin: string;
  /** Every call so far, in order: [tool, ...args]. */
  calls(): string[][];
  /** The calls as "tool arg1 arg2 ..." lines. */
  lines(): string[];
  cleanup(): void;
}

const US = '\x1f';

// Bash here is the machine's (the stub is test equipment); the scripts under test are what must stay bash 3.2-clean.
const stubScript = `#!/usr/bin/env bash
tool="$(basename "$0")"
# One record, one write(2) on an O_APPEND file: stubs run side by side (a port-forward in the background while git
# runs) and several printf calls into the file would interleave their records.
record="$tool"; for a in "$@"; do record="$record"$'\\037'"$a"; done
printf '%s\\n' "$record" >>"$STUB_DIR/calls"
line="$tool $*"
# A pipeline's reader (kubectl apply -f -) drains its stdin like the real one.
case " $* " in *" -f - "*) cat >/dev/null ;; esac
n=0
while IFS=$'\\037' read -r rtool pattern times code mode payload; do
  n=$((n + 1))
  [ "$rtool" = "$tool" ] || continue
  printf '%s\\n' "$line" | grep -Eq -- "$pattern" || continue
  used=0
  [ -f "$STUB_DIR/used.$n" ] && used="$(cat "$STUB_DIR/used.$n")"
  if [ "$times" != "*" ] && [ "$used" -ge "$times" ]; then continue; fi
  echo $((used + 1)) >"$STUB_DIR/used.$n"
  if [ "$mode" = exec ]; then eval "$payload"; exit $?; fi
  printf '%b' "$payload"
  exit "$code"
done <"$STUB_DIR/rules"
exit 0
`;

export function makeStubs(rules: readonly StubRule[]): Stubs {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-stubs-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of stubbedTools) {
    // The script finds its state through STUB_DIR, baked in so the scripts under test need not pass it on.
    writeFileSync(join(bin, tool), stubScript.replace('#!/usr/bin/env bash\n', `#!/usr/bin/env bash\nSTUB_DIR=${JSON.stringify(dir)}\n`));
    chmodSync(join(bin, tool), 0o755);
  }
  const encode = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  writeFileSync(
    join(dir, 'rules'),
    rules
      .map((r) => {
        if (r.exec !== undefined && r.exec.includes('\n')) throw new Error('exec snippets are one line');
        return [r.tool, r.match, r.times === undefined ? '*' : String(r.times), String(r.exit ?? 0), r.exec === undefined ? 'print' : 'exec', r.exec ?? encode(r.stdout ?? '')].join(US);
      })
      .join('\n') + '\n',
  );
  writeFileSync(join(dir, 'calls'), '');
  const calls = () =>
    readFileSync(join(dir, 'calls'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(US));
  return {
    bin,
    calls,
    lines: () => calls().map((c) => c.join(' ')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
