// The Node version check that runs before any TypeScript of ours, shared by `node src/server.ts` and the `rollcall`
// bin (scripts/rollcall.cjs). Node older than 22.18 cannot run TypeScript, and for an ES module it refuses the `.ts`
// extension with ERR_UNKNOWN_FILE_EXTENSION and a stack before any line of ours runs; it does run a CommonJS file, so
// this one is plain CommonJS JavaScript, and each entry requires it before importing anything written in TypeScript.
'use strict';
const engines = require('../package.json').engines;

/** Exits 1 with one line on stderr when this Node is older than package.json's engines.node; `command` is what to run once the project's own Node is on PATH. */
function exitUnlessNodeRunsTypeScript(command) {
  const needed = /^>=(\d+)\.(\d+)/.exec(engines.node);
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (needed && (major < Number(needed[1]) || (major === Number(needed[1]) && minor < Number(needed[2])))) {
    process.stderr.write(
      `rollcall needs Node.js ${engines.node} to run its TypeScript sources, and this is Node.js ${process.versions.node}. ` +
        `Run \`npm ci\`, then \`${command}\`: npm puts the project's own Node 24 (the "node" devDependency) first on PATH.\n`,
    );
    process.exit(1);
  }
}

module.exports = { exitUnlessNodeRunsTypeScript };
