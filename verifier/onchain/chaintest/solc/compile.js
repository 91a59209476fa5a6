// Compiles Solidity sources with the pinned solc-js (package-lock.json: solc 0.8.37, a
// self-contained WebAssembly build: nothing is downloaded at run time) through its standard JSON
// interface, and writes OUTDIR/<Contract>.json with the ABI and creation bytecode of each contract.
//
// usage: node compile.js OUTDIR SOURCE.sol...
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const want = require('./package.json').dependencies.solc;
if (!solc.version().startsWith(want + '+')) {
  console.error(`solc ${solc.version()} is installed, package.json pins ${want}: run npm ci`);
  process.exit(2);
}
const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  console.error('usage: node compile.js OUTDIR SOURCE.sol...');
  process.exit(2);
}
const sources = {};
for (const f of files) sources[path.basename(f)] = { content: fs.readFileSync(f, 'utf8') };
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'prague',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of out.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);
fs.mkdirSync(outDir, { recursive: true });
for (const [file, contracts] of Object.entries(out.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    const artifact = {
      contract: name, source: file, compiler: solc.version(), abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
    };
    fs.writeFileSync(path.join(outDir, name + '.json'), JSON.stringify(artifact, null, 2));
    console.log(`${name}: ${c.evm.deployedBytecode.object.length / 2} bytes of runtime code`);
  }
}
