// Entry point: `node src/server.ts` (what `npm start` runs). It checks the Node version, then loads the service
// (src/service/main.ts). The check has to come before anything else: Node older than 22.18 cannot run TypeScript,
// and for an ES module it refuses the `.ts` extension with ERR_UNKNOWN_FILE_EXTENSION before any line of ours runs.
// It does run a CommonJS file whatever its extension, as JavaScript, so this one file is CommonJS (src/package.json
// says so) and written in the part of TypeScript that is also JavaScript: no type annotations, no import statements.
const engines = require('../package.json').engines;
const needed = /^>=(\d+)\.(\d+)/.exec(engines.node);
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (needed && (major < Number(needed[1]) || (major === Number(needed[1]) && minor < Number(needed[2])))) {
  process.stderr.write(
    `rollcall needs Node.js ${engines.node} to run its TypeScript sources, and this is Node.js ${process.versions.node}. ` +
      'Run `npm ci`, then `npm start`: npm puts the project\'s own Node 24 (the "node" devDependency) first on PATH.\n',
  );
  process.exit(1);
}
// The service's modules are ES modules; main.ts starts it when loaded (and exits non-zero if it fails to).
void import('./service/main.ts');
