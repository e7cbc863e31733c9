// Reading `visits.json` at startup. The file is the only copy of the count, so anything that is not exactly
// `{"counter": N}` with N a non-negative safe integer is refused: the service stops with the problem named and the
// file is left byte-for-byte as it was, for a human to look at. Guessing a value would silently lose visits.
import { closeSync, constants, lstatSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { isTempFileOf } from './durable-write.ts';

export const STATE_FILE_NAME = 'visits.json';
/** The file holds one small number; anything bigger is not ours. */
export const MAX_STATE_FILE_BYTES = 1024 * 1024;

export class StateFileError extends Error {
  readonly file: string;
  readonly problem: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.file = file;
    this.problem = problem;
  }
}

/** Serialises the counter exactly as the seed's Python app (`json.dump({"counter": n}, f)`) does. */
export function formatState(counter: number): string {
  return `{"counter": ${counter}}`;
}

/** The only accepted text, up to whitespace: `{"counter": N}`, N = 0 or decimal digits without a leading zero. */
const EXACT_SHAPE = /^\s*\{\s*"counter"\s*:\s*(?:0|[1-9][0-9]*)\s*\}\s*$/;

/** Parses the file's text; returns the counter or a description of what is wrong. */
export function parseState(text: string): { counter: number } | { problem: string } {
  if (text.trim() === '') return { problem: 'file is empty' };
  if (text.includes('\0')) return { problem: 'file contains NUL bytes' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `not valid JSON (${(error as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: `expected a JSON object like {"counter": 0}, found ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'null' : `a ${typeof value}`}` };
  }
  const keys = Object.keys(value);
  const extra = keys.filter((key) => key !== 'counter');
  if (extra.length > 0) return { problem: `unexpected key(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}; expected only "counter"` };
  if (!keys.includes('counter')) return { problem: 'missing "counter"' };
  const counter = (value as { counter: unknown }).counter;
  if (typeof counter !== 'number') return { problem: `"counter" must be a number, found a ${counter === null ? 'null' : typeof counter}` };
  if (!Number.isFinite(counter)) return { problem: '"counter" is not a finite number' };
  if (!Number.isInteger(counter)) return { problem: `"counter" must be an integer, found ${counter}` };
  if (counter < 0) return { problem: `"counter" must not be negative, found ${counter}` };
  if (!Number.isSafeInteger(counter)) return { problem: `"counter" is above ${Number.MAX_SAFE_INTEGER} and cannot be counted exactly` };
  // JSON.parse has already smoothed over what makes a file ambiguous: a repeated key (the last one wins), an escaped
  // key, and numbers it rounds or normalises (4.9999999999999999, 9007199254740990.5, 5.0, 5e0, -0). So the text
  // itself must be one "counter" key, written plainly, with a value in plain decimal digits.
  if (!EXACT_SHAPE.test(text)) {
    return { problem: 'must be exactly {"counter": N} with one plainly written "counter" key and N in plain decimal digits (no repeated or escaped key, fraction, exponent or sign)' };
  }
  return { counter };
}

/**
 * Loads the counter from `file`: missing file = 0. Throws StateFileError for anything else that is not a valid state
 * file. Opens with O_NOFOLLOW after the lstat so a symlink swapped in between is refused too. Synchronous: it runs
 * once, at start-up, before the server listens, when there is nothing else to do; each asynchronous call would cost a
 * round trip through the thread pool (docs/benchmarks.md, "What made the start-up (and the bundle) faster").
 */
export function readState(file: string): number {
  let stat;
  try {
    stat = lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new StateFileError(file, `cannot be read (${(error as Error).message})`);
  }
  if (stat.isSymbolicLink()) throw new StateFileError(file, 'is a symlink; refusing to follow it');
  if (stat.isDirectory()) throw new StateFileError(file, 'is a directory, not a file');
  if (!stat.isFile()) throw new StateFileError(file, 'is not a regular file');
  if (stat.size > MAX_STATE_FILE_BYTES) throw new StateFileError(file, `is ${stat.size} bytes, over the ${MAX_STATE_FILE_BYTES}-byte limit`);
  let text: string;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buffer = Buffer.alloc(MAX_STATE_FILE_BYTES + 1);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_STATE_FILE_BYTES) throw new StateFileError(file, `is over the ${MAX_STATE_FILE_BYTES}-byte limit`);
      text = buffer.toString('utf8', 0, bytesRead);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof StateFileError) throw error;
    throw new StateFileError(file, `cannot be read (${(error as Error).message})`);
  }
  const parsed = parseState(text);
  if ('problem' in parsed) throw new StateFileError(file, parsed.problem);
  return parsed.counter;
}

/** Removes temp files a crash left behind; they are never read (a temp file may be incomplete). Start-up only, so synchronous like readState. */
export function removeStaleTempFiles(file: string): string[] {
  const dir = path.dirname(file);
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile() || !isTempFileOf(file, entry.name)) continue;
    unlinkSync(path.join(dir, entry.name));
    removed.push(entry.name);
  }
  return removed;
}
