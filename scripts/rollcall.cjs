#!/usr/bin/env node
// The `rollcall` bin (package.json "bin"). CommonJS JavaScript, so that a Node too old for the TypeScript sources
// (Node 20 runs this file, and would refuse scripts/rollcall.ts with ERR_UNKNOWN_FILE_EXTENSION and a stack) prints
// the same one line as `node src/server.ts` and exits 1; on a Node that runs TypeScript it loads the command line.
'use strict';
require('../src/node-version-gate.cjs').exitUnlessNodeRunsTypeScript('npx rollcall --help');
import('./rollcall.ts');
