// Entry point: `node src/server.ts` (what `npm start` runs). It checks the Node version, then loads the service
// (src/service/main.ts). The check has to come before anything else: Node older than 22.18 cannot run TypeScript,
// and for an ES module it refuses the `.ts` extension with ERR_UNKNOWN_FILE_EXTENSION before any line of ours runs.
// It does run a CommonJS file whatever its extension, as JavaScript, so this one file is CommonJS (src/package.json
// says so) and written in the part of TypeScript that is also JavaScript: no type annotations, no import statements.
// The check itself is shared with the `rollcall` bin (src/node-version-gate.cjs).
require('./node-version-gate.cjs').exitUnlessNodeRunsTypeScript('npm start');
// The service's modules are ES modules; main.ts starts it when loaded (and exits non-zero if it fails to).
void import('./service/main.ts');
