#!/usr/bin/env bash
# Regenerates the real Orbs PoS V2 contracts' ABI and init code in this
# directory from orbs-network/orbs-ethereum-contracts-v2, compiled as that
# repository's truffle config compiles them (solc 0.6.12 from npm, optimizer
# 10,000 runs, @openzeppelin/contracts 3.1.0 as its package-lock pins).
#
#   build.sh REPO_GIT_DIR
#
# REPO_GIT_DIR is a clone (or bare mirror) of the contracts' repository.
# The contracts come from its tip (f6c7f83 when these files were made), and
# GuardiansRegistrationV1 from ab81214^, the version mainnet first deployed,
# whose GuardianDataUpdated has no registrationTime. CI uses the committed
# files and needs no compiler.
set -euo pipefail
repo=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent solc@0.6.12 @openzeppelin/contracts@3.1.0 >/dev/null
mkdir tip v1
cp "$here/compile.js" .  # require() resolves solc beside the script
git --git-dir="$repo" archive HEAD contracts | tar -x -C tip
git --git-dir="$repo" archive ab81214^ contracts | tar -x -C v1
node compile.js tip/contracts "$here/" ContractRegistry Delegations TestingERC20 \
  StakingContract StakingContractHandler StakingRewards FeesAndBootstrapRewards Elections \
  Subscriptions Protocol Certification Committee ProtocolWallet GuardiansRegistration FeesWallet
node compile.js v1/contracts "$work/v1-" GuardiansRegistration
cp "$work/v1-GuardiansRegistration.abi" "$here/GuardiansRegistrationV1.abi"
cp "$work/v1-GuardiansRegistration.bin" "$here/GuardiansRegistrationV1.bin"
git --git-dir="$repo" rev-parse HEAD > "$here/SOURCE_COMMIT"
# The events vcsync reads, each contract version with its own ABI, for
# committee/ethpos/pos/events.json (embedded in the binary).
cd "$here" && node -e '
const fs = require("fs");
const pick = (file, name) => JSON.parse(fs.readFileSync(file)).filter((x) => x.type === "event" && x.name === name);
const out = {
  Committee: pick("Committee.abi", "CommitteeChange"),
  Elections: pick("Elections.abi", "StakeChanged"),
  GuardiansRegistration: pick("GuardiansRegistration.abi", "GuardianDataUpdated"),
  GuardiansRegistrationV1: pick("GuardiansRegistrationV1.abi", "GuardianDataUpdated"),
  ContractRegistry: pick("ContractRegistry.abi", "ContractAddressUpdated"),
};
fs.writeFileSync("../../committee/ethpos/pos/events.json", JSON.stringify(out, null, 1) + "\n");
' 
