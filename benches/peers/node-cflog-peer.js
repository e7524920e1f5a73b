// A naive Node.js peer of `cflog FILE.gz > /dev/null`: gunzip stream,
// readline, split('\t'), one JSON object per line keyed by the #Fields
// names (snake_case), '-' as null, numbers for the numeric fields.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const readline = require('readline');

const numeric = new Set(['sc_bytes', 'sc_status', 'cs_bytes', 'time_taken', 'c_port',
  'time_to_first_byte', 'sc_content_len', 'sc_range_start', 'sc_range_end', 'fle_encrypted_fields']);
let keys = [];
let lines = 0;
const input = fs.createReadStream(process.argv[2]).pipe(zlib.createGunzip());
const rl = readline.createInterface({ input, crlfDelay: Infinity });
rl.on('line', (line) => {
  lines++;
  if (line.startsWith('#Fields:')) {
    keys = line.slice(8).trim().split(/\s+/).map((k) => k.replace(/[()-]/g, '_').replace(/_+$/, '').toLowerCase());
    return;
  }
  if (line.startsWith('#') || line === '') return;
  const values = line.split('\t');
  const o = {};
  for (let i = 0; i < keys.length; i++) {
    const v = values[i];
    if (v === undefined || v === '-') o[keys[i]] = null;
    else if (numeric.has(keys[i])) o[keys[i]] = Number(v);
    else o[keys[i]] = decodeURIComponentSafe(v);
  }
  process.stdout.write(JSON.stringify(o) + '\n');
});
rl.on('close', () => process.stderr.write(`node peer: ${lines} lines\n`));

function decodeURIComponentSafe(v) {
  if (v.indexOf('%') < 0) return v;
  try { return decodeURIComponent(v); } catch (e) { return v; }
}
