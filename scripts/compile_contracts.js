#!/usr/bin/env node
// Compiles contracts/FarToken.sol with solcjs (npm `solc`, offline) into resources/contracts/FarToken.json.
// `--check` compiles and compares with the committed artifact instead of writing it (exit 1 on a mismatch).
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const root = path.resolve(__dirname, '..');
const EVM_VERSION = 'cancun';
const CONTRACTS = ['FarToken'];

function compile(name) {
  const sourcePath = path.join(root, 'contracts', `${name}.sol`);
  const input = {
    language: 'Solidity',
    sources: { [`${name}.sol`]: { content: fs.readFileSync(sourcePath, 'utf8') } },
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: 200 },
      metadata: { bytecodeHash: 'none' },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) {
    for (const e of errors) console.error(e.formattedMessage);
    process.exit(2);
  }
  const c = output.contracts[`${name}.sol`][name];
  return {
    contractName: name,
    compiler: `solc ${solc.version()}`,
    evmVersion: EVM_VERSION,
    abi: c.abi,
    bytecode: '0x' + c.evm.bytecode.object,
    // the runtime code: the app compares the payout contract's code on chain with it before signing
    deployedBytecode: '0x' + c.evm.deployedBytecode.object,
  };
}

let mismatch = false;
const check = process.argv.includes('--check');
for (const name of CONTRACTS) {
  const artifact = JSON.stringify(compile(name), null, 2) + '\n';
  const out = path.join(root, 'resources', 'contracts', `${name}.json`);
  if (check) {
    const committed = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    if (committed !== artifact) {
      console.error(`${path.relative(root, out)} differs from a fresh compile of contracts/${name}.sol`);
      mismatch = true;
    } else {
      console.log(`${path.relative(root, out)} matches contracts/${name}.sol`);
    }
  } else {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, artifact);
    console.log(`wrote ${path.relative(root, out)}`);
  }
}
process.exit(mismatch ? 1 : 0);
