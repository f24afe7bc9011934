#!/usr/bin/env bash
# Regenerates TestPoS.abi and TestPoS.bin from TestPoS.sol with the solc npm
# package. CI uses the committed artifacts and needs no compiler.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent solc@0.8 >/dev/null)
"$work/node_modules/.bin/solcjs" --bin --abi --optimize -o "$work/out" TestPoS.sol
cp "$work"/out/*TestPoS.abi TestPoS.abi
cp "$work"/out/*TestPoS.bin TestPoS.bin
echo "wrote TestPoS.abi TestPoS.bin"
