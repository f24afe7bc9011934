#!/usr/bin/env bash
# Every operator command on one large chain (22-member committee, blocks as
# devnet makes them), measured: wall time, peak RSS (GNU time: it counts
# the store's pages bbolt maps), peak anonymous memory (sampled every
# 0.2 s), peak Go heap (the largest heap at the start of a GC, from
# GODEBUG=gctrace=1) and the disk the store takes. The chain is generated once into WORK and
# reused by later runs.
#
#   bash bench/scale.sh [BLOCKS] [WORK]      (default 1000000 and /tmp/vcsync-scale)
#
# Writes WORK/results.tsv (one row per command) and WORK/logs/. Needs about
# 4x the chain's size on disk (2 GB a copy at 1M blocks) and, at 1M
# blocks, about 40 minutes on 2 cores.
set -euo pipefail
N=${1:-1000000}
W=${2:-/tmp/vcsync-scale}
HALF=$((N / 2))
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$W/logs"
(cd "$here" && go build -o "$W/vcsync" . && go build -o "$W/damagepage" ./bench/damagepage)
V="$W/vcsync"
chain="$W/chain-$N"
mgmt="$chain/management.json"
if [ ! -f "$chain/blocks.db" ]; then
  rm -rf "$chain"
  "$V" devnet gen --out "$chain" --blocks "$N" --committee-size 22 --rotate-every 50000 > "$W/logs/gen.txt"
fi
disk() { [ -e "$1" ] && echo $(( $(stat -c %b "$1") * 512 )) || echo 0; }
printf 'command\tblocks\twall_s\tblocks_per_s\tpeak_rss_mib\tpeak_anon_mib\tpeak_heap_mib\tdisk_mib\texit\n' > "$W/results.tsv"

# measure NAME BLOCKS STORE cmd...: runs the command under GNU time with
# the GC trace on, and appends its row.
measure() {
  local name=$1 blocks=$2 store=$3; shift 3
  local log="$W/logs/$name"
  local code=0
  GODEBUG=gctrace=1 /usr/bin/time -f '%e %M' -o "$log.time" "$@" > "$log.out" 2> "$log.err" &
  local timer=$! anon=0 pid
  # Peak anonymous memory, sampled: RSS also counts the store's pages bbolt
  # maps, which belong to the page cache, not to vcsync.
  while kill -0 "$timer" 2>/dev/null; do
    pid=$(pgrep -P "$timer" | head -1 || true)
    if [ -n "$pid" ]; then
      a=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
    fi
    sleep 0.2
  done
  wait "$timer" || code=$?
  local wall rss heap
  read -r wall rss < <(tail -1 "$log.time") # GNU time puts a line before it on a failure
  heap=$(grep -o '[0-9]*->[0-9]*->[0-9]* MB' "$log.err" | cut -d- -f1 | sort -n | tail -1 || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$blocks" "$wall" \
    "$(awk -v b="$blocks" -v w="$wall" 'BEGIN { if (w > 0 && b > 0) printf "%.0f", b / w; else print "-" }')" \
    "$((rss / 1024))" "$((anon / 1024))" "${heap:-0}" "$(( $(disk "$store") / 1048576 ))" "$code" >> "$W/results.tsv"
  echo "$name: ${wall}s, exit $code" >&2
}

# Four peers serving the generated chain.
pids=()
for port in 7711 7712 7713 7714; do
  "$V" serve --store "$chain/blocks.db" --listen "127.0.0.1:$port" > "$W/logs/serve-$port.txt" 2>&1 &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
sleep 2

rm -f "$W"/*.db "$W"/*.db.* "$W/export.vcx"
measure sync-1-peer "$N" "$W/one.db" "$V" sync --store "$W/one.db" --chain-id 42 --network-type 2 --committee-file "$mgmt" --peer http://127.0.0.1:7711 --parallel 1 --json
measure sync-4-peers "$N" "$W/four.db" "$V" sync --store "$W/four.db" --chain-id 42 --network-type 2 --committee-file "$mgmt" \
  --peer http://127.0.0.1:7711 --peer http://127.0.0.1:7712 --peer http://127.0.0.1:7713 --peer http://127.0.0.1:7714 --parallel 4 --json
kill "${pids[@]}" 2>/dev/null || true
rm -f "$W/four.db"
measure verify-all "$N" "$W/one.db" "$V" verify all --store "$W/one.db" --committee-file "$mgmt" --json
measure inspect "$N" "$W/one.db" "$V" inspect --store "$W/one.db" --json
measure inspect-check "$N" "$W/one.db" "$V" inspect --store "$W/one.db" --check --json
measure export "$N" "$W/export.vcx" "$V" export --store "$W/one.db" --out "$W/export.vcx" --json
measure import "$N" "$W/imported.db" "$V" import --store "$W/imported.db" --chain-id 42 --network-type 2 --committee-file "$mgmt" --json "$W/export.vcx"
rm -f "$W/export.vcx" "$W/imported.db"
measure compact "$N" "$W/compacted.db" "$V" compact --store "$W/one.db" --out "$W/compacted.db" --json
rm -f "$W/compacted.db"

cp --sparse=always "$W/one.db" "$W/rollback.db"
measure rollback-half "$HALF" "$W/rollback.db" "$V" rollback --store "$W/rollback.db" --to "$HALF" --yes --force --json
rm -f "$W/rollback.db"

cp --sparse=always "$W/one.db" "$W/damaged.db"
"$W/damagepage" "$W/damaged.db" > "$W/logs/damaged-page.txt"
measure repair-plan "$N" "$W/damaged.db" "$V" repair --store "$W/damaged.db" --json
measure repair-write "$N" "$W/damaged.db" "$V" repair --store "$W/damaged.db" --yes --json
rm -f "$W/damaged.db"

# A store cut to three quarters of what bbolt wrote: its root is gone, so
# salvage scans the leaf pages.
cp --sparse=always "$W/one.db" "$W/truncated.db"
used=$(( $(stat -c %s "$W/one.db") ))
truncate -s $((used * 3 / 4)) "$W/truncated.db"
measure salvage "$N" "$W/salvaged.db" "$V" repair --store "$W/truncated.db" --out "$W/salvaged.db" --json
rm -f "$W/truncated.db" "$W/salvaged.db"
column -t -s $'\t' "$W/results.tsv"
