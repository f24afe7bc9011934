// Generates golden.json: committee weights exactly as the Orbs management
// service computes them (src/model/state.ts, fixCommitteeWeights and
// fixCommitteeWeightsNew), evaluated by JavaScript itself so float64
// division and Math.round's halves are the service's, not a re-derivation.
// Run: node testdata/weights/gen.js > testdata/weights/golden.json
const CHANGE = 1656576000; // 2022-06-30T08:00Z, the service's breaking-change time
const ORBS = 10n ** 18n;
function weights(rawStakes, time) {
  const stake = rawStakes.map((s) => Number(BigInt(s) / ORBS)); // orbitonsToOrbs
  const total = stake.reduce((a, b) => a + b, 0);
  const n = stake.length;
  const floor = time < CHANGE ? Math.round(total / n) : Math.round(total / ((2 / 3) * n));
  return stake.map((s) => String(Math.max(s, floor)));
}
const o = (x) => (BigInt(x) * ORBS).toString();
const cases = [];
const add = (name, stakes, time) => cases.push({ name, time, stakes, weights: weights(stakes, time) });
for (const time of [CHANGE - 1, CHANGE]) {
  add('three unequal', [o(10), o(20), o(300)], time);
  add('average ends in .5 (rounds up)', [o(1), o(2)], time);
  add('average just under .5', [o(1), o(1), o(2)], time);
  add('sub-ORBS remainders dropped', [o(10) + '999', (BigInt(o(20)) + 999999n).toString(), o(300)], time);
  add('one member', [o(7)], time);
  add('member at weight 0', [o(0), o(100), o(50)], time);
  add('halves: total 1 of 3', [o(0), o(0), o(1)], time);
  add('halves: total 3 of 2', [o(0), o(3)], time);
  add('halves: total 5 of 6', [o(0), o(0), o(0), o(0), o(0), o(5)], time);
}
// A 22-member committee of unequal stakes, as on mainnet.
const big = [];
for (let i = 0; i < 22; i++) big.push(o(1000000 + i * i * 37771 + (i % 3) * 123457));
add('22 members before the change', big, CHANGE - 1);
add('22 members after the change', big, CHANGE);
// Every total/n for small committees, both eras: every .5 case there is.
for (let n = 1; n <= 9; n++) {
  for (let total = 0; total <= 3 * n; total++) {
    const s = Array(n).fill(o(0));
    s[0] = o(total);
    add(`sweep n=${n} total=${total} before`, s, CHANGE - 1);
    add(`sweep n=${n} total=${total} after`, s, CHANGE);
  }
}
console.log(JSON.stringify({ source: 'orbs-network/management-service src/model/state.ts, evaluated by node', change_time: CHANGE, cases }, null, 1));
