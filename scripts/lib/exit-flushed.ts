// process.exit() right after a large console.log loses output when stdout is a pipe: Node writes to pipes
// asynchronously on Linux once the kernel's buffer (64 KiB) is full, and exit drops what is still queued. A
// `rollcall compare --json` report is hundreds of KiB, and a reader that is busy for a moment (a test runner, `| jq`
// on a loaded machine) got it cut off. The exit waits for both streams first: a write's callback runs once every
// earlier write on the same stream has been handed to the kernel.

/** Exits with `code` once everything written to stdout and stderr so far has left the process. */
export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
