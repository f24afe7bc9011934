// Compiles the Orbs PoS V2 contracts as their truffle config does (solc
// 0.6.12, optimizer on, 10,000 runs) and writes <Name>.abi and <Name>.bin
// for each contract the tests deploy. Usage: node compile.js SRC_DIR OUT_PREFIX NAME...
// SRC_DIR holds the repository's contracts/ tree; imports of
// @openzeppelin/contracts come from node_modules.
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const [srcDir, outPrefix, ...names] = process.argv.slice(2);
const sources = {};
function walk(dir) {
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.sol')) sources[path.relative(srcDir, p)] = { content: fs.readFileSync(p, 'utf8') };
  }
}
walk(srcDir);
function findImports(p) {
  for (const base of [srcDir, 'node_modules']) {
    const f = path.join(base, p);
    if (fs.existsSync(f)) return { contents: fs.readFileSync(f, 'utf8') };
  }
  return { error: 'not found: ' + p };
}
const input = {
  language: 'Solidity',
  sources,
  settings: { optimizer: { enabled: true, runs: 10000 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } } },
};
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join('\n'));
  process.exit(1);
}
for (const name of names) {
  const file = Object.keys(out.contracts).find((f) => out.contracts[f][name]);
  if (!file) throw new Error('no contract ' + name);
  const c = out.contracts[file][name];
  fs.writeFileSync(outPrefix + name + '.abi', JSON.stringify(c.abi) + '\n');
  fs.writeFileSync(outPrefix + name + '.bin', c.evm.bytecode.object + '\n');
  console.log(name, 'init', c.evm.bytecode.object.length / 2, 'deployed', c.evm.deployedBytecode.object.length / 2);
}
