#!/usr/bin/env bash
# Instructions the broker executes per produced and per fetched record, counted by valgrind's
# callgrind: unlike wall time, the count barely moves with the load of a shared machine, so it
# shows what a change to the produce or fetch path costs or saves.
#
# `strom broker` runs under callgrind; kcat (librdkafka) produces N records of SIZE bytes with
# the bench's producer settings (linger.ms=5, batch.size=1000000, no compression), then reads
# them back from offset 0. The counters are zeroed before each phase and dumped after it, so
# start-up, topic creation and shutdown are not counted.
#
# Usage: benches/callgrind.sh [N] [SIZE] [ACKS]   (defaults: 20000 records, 1024 bytes, acks=1)
# Needs a release build (`cargo build --release`), valgrind and kcat. Takes a minute or two.
set -euo pipefail

n=${1:-20000}
size=${2:-1024}
acks=${3:-1}
bin=${STROM_BIN:-target/release/strom}
[[ -x $bin ]] || { echo "no $bin: run cargo build --release first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/strom-callgrind.XXXXXX")
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$bin" broker --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/stdout" 2>"$work/broker.log" &
pid=$!

addr=
for _ in $(seq 1 600); do
    addr=$(sed -n 's/^listening on //p' "$work/stdout" | head -n1)
    [[ -n $addr ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/broker.log" >&2; exit 1; }
    sleep 0.1
done
[[ -n $addr ]] || { echo "broker did not start within 60 s" >&2; exit 1; }

# Records of exactly SIZE bytes (kcat splits its input at newlines).
python3 -c "import sys; sys.stdout.write(('x' * ($size) + '\n') * $n)" >"$work/records"
topic=callgrind
# The topic is auto-created by a first record, outside the counted phases; it takes offset 0.
echo warm | timeout 60 kcat -P -b "$addr" -t "$topic" -q

total() { sed -n 's/^totals: *//p' "$1" | awk '{print $1}'; }

callgrind_control -z "$pid" >/dev/null 2>&1
timeout 300 kcat -P -b "$addr" -t "$topic" -q -l \
    -X linger.ms=5 -X batch.size=1000000 -X acks="$acks" -X compression.type=none "$work/records"
callgrind_control -d produce "$pid" >/dev/null 2>&1
timeout 300 kcat -C -b "$addr" -t "$topic" -q -o beginning -c $((n + 1)) -e -f '%o\n' \
    >"$work/consumed"
callgrind_control -d fetch "$pid" >/dev/null 2>&1

got=$(wc -l <"$work/consumed")
[[ $got -eq $((n + 1)) ]] || { echo "consumed $got records, expected $((n + 1))" >&2; exit 1; }

# Dumps are numbered in order: .1 the produce phase, .2 the fetch phase.
produce=$(total "$work/cg.out.1")
fetch=$(total "$work/cg.out.2")
printf 'records: %d x %d B, acks=%s\n' "$n" "$size" "$acks"
printf 'produce: %d instructions, %d per record\n' "$produce" $((produce / n))
printf 'fetch:   %d instructions, %d per record\n' "$fetch" $((fetch / n))
if [[ -n ${KEEP:-} ]]; then
    mkdir -p "$KEEP" && cp "$work"/cg.out.* "$KEEP"/ && echo "callgrind files in $KEEP"
fi
