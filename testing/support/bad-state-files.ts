// Every shape of visits.json that must stop startup, with the problem the error must name. Shared by the unit
// tests and the real-process fault suite.
export const BAD_STATE_FILES: { name: string; content: string | Buffer; problem: RegExp }[] = [
  { name: 'empty', content: '', problem: /empty/ },
  { name: 'whitespace only', content: ' \n', problem: /empty/ },
  { name: 'truncated', content: '{"counter": 4', problem: /not valid JSON/ },
  { name: 'NUL bytes', content: Buffer.alloc(16), problem: /NUL/ },
  { name: 'a JSON string', content: '"66"', problem: /expected a JSON object.*string/ },
  { name: 'an array', content: '[66]', problem: /array/ },
  { name: 'null', content: 'null', problem: /null/ },
  { name: 'counter as a string', content: '{"counter": "66"}', problem: /must be a number/ },
  { name: 'negative', content: '{"counter": -1}', problem: /negative/ },
  { name: 'fractional', content: '{"counter": 1.5}', problem: /integer/ },
  { name: '1e400', content: '{"counter": 1e400}', problem: /finite/ },
  { name: 'above MAX_SAFE_INTEGER', content: '{"counter": 9007199254740993}', problem: /above 9007199254740991/ },
  { name: 'missing counter', content: '{}', problem: /missing "counter"/ },
  { name: 'unexpected key', content: '{"counter": 1, "extra": 2}', problem: /unexpected key/ },
  // Ambiguous: JSON.parse would accept each of these as a plain integer.
  { name: 'a repeated key', content: '{"counter": 5, "counter": 6}', problem: /exactly \{"counter": N\}/ },
  { name: 'an escaped key', content: '{"\\u0063ounter": 5}', problem: /exactly \{"counter": N\}/ },
  { name: '4.9999999999999999', content: '{"counter": 4.9999999999999999}', problem: /exactly \{"counter": N\}/ },
  { name: '9007199254740990.5', content: '{"counter": 9007199254740990.5}', problem: /exactly \{"counter": N\}/ },
  { name: '5.0', content: '{"counter": 5.0}', problem: /exactly \{"counter": N\}/ },
  { name: '5e0', content: '{"counter": 5e0}', problem: /exactly \{"counter": N\}/ },
  { name: '-0', content: '{"counter": -0}', problem: /exactly \{"counter": N\}/ },
  { name: 'over 1 MiB', content: `{"counter": 1${' '.repeat(1024 * 1024)}}`, problem: /over the 1048576-byte limit/ },
];

