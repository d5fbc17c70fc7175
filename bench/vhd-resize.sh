#!/usr/bin/env bash
# VHD resize cost: bytes DiskPlan writes against the format minimum, and the apply time
# against `dd conv=fsync` of the same number of bytes, in the same run.
#
#   bash bench/vhd-resize.sh        (after `mvn -q -DskipTests package`)
#
# Cases: dynamic 127 GiB -> 2040 GiB (BAT relocated: a block follows the table), and
# fixed grows (sparse, preallocation=full). "minimum" is what any correct resize must
# write: for dynamic, the new BAT entries (4 bytes each) plus the changed header and
# footer fields (24 + 2 x 28 bytes); for fixed, the new footer and the cleared old one
# (plus the new range with preallocation=full). "written" is what the plan writes
# (sparse extensions excluded, from `plan --output=json`). "apply-ms" is DiskPlan in
# process (bench/ResizeTiming.java: lock, probe, plan, apply with its undo journal and
# syncs; no JVM start-up; median of three); "cli-ms" the whole `diskplan resize` on another copy (JVM
# start-up included); "dd-fsync-ms" `dd conv=fsync` of "written" bytes (median of three,
# run between the applies). The apply syncs at every barrier (about seven fsync/fdatasync
# calls for the image and its undo journal) where dd syncs once: for small plans that is
# what the difference measures.
set -euo pipefail
cd "$(dirname "$0")/.."
jar=$PWD/app-fx/target/diskplan.jar
[ -f "$jar" ] || { echo "build first: mvn -q -DskipTests package" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timing=$PWD/bench/ResizeTiming.java

written() { # plan json on stdin -> bytes the plan writes (sparse extensions excluded)
  python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(p["length"] for p in d["patches"] if p.get("zero_mode", p.get("mode", "")) != "sparse"))'
}

run_case() { # name create-opts base new minimum [shrink] [preallocation]
  local name=$1 opts=$2 base=$3 new=$4 minimum=$5 shrink=${6:-grow} mode=${7:-off}
  local f="$work/$name.vhd" cli="$work/$name-cli.vhd"
  rm -f "$f" "$cli" "$work/dd.bin"
  qemu-img create -q -f vpc -o "$opts" "$f" "$base"
  qemu-io -f vpc -c "write -P 0x11 0 1M" "$f" >/dev/null
  cp --sparse=always "$f" "$cli"
  local bytes args=(-f vpc)
  [ "$shrink" = shrink ] && args+=(--shrink)
  args+=(--preallocation="$mode")
  bytes=$(java -jar "$jar" plan "${args[@]}" --output=json "$f" "$new" | written)
  # the median of three in-process applies (each on a fresh copy) and of three dd runs,
  # alternating, so both see the same machine load
  local applies=() dds=() r ds de
  for r in 1 2 3; do
    cp --sparse=always "$cli" "$work/run.vhd"
    sync
    applies+=("$(java -cp "$jar" "$timing" "$work/run.vhd" "$new" "$shrink" "$mode" | awk '{print $3}')")
    rm -f "$work/dd.bin"
    sync
    ds=$(date +%s%N)
    dd if=/dev/zero of="$work/dd.bin" bs=64k count=$(( (bytes + 65535) / 65536 )) conv=fsync status=none
    de=$(date +%s%N)
    dds+=("$(( (de - ds) / 1000000 ))")
  done
  mv "$work/run.vhd" "$f"
  local apply dd
  apply=$(printf '%s\n' "${applies[@]}" | sort -n | sed -n 2p)
  dd=$(printf '%s\n' "${dds[@]}" | sort -n | sed -n 2p)
  sync
  local s e
  s=$(date +%s%N); java -jar "$jar" resize -q "${args[@]}" "$cli" "$new"; e=$(date +%s%N)
  cmp -s "$f" "$cli" || echo "  the in-process and the CLI resize differ" >&2
  printf '%-34s %14s %14s %10s %8s %12s %14s\n' "$name" "$bytes" "$minimum" "$apply" "$(( (e - s) / 1000000 ))" \
    "$dd" "$(qemu-img info --output=json -f vpc "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')"
}

printf '%-34s %14s %14s %10s %8s %12s %14s\n' case written minimum apply-ms cli-ms dd-fsync-ms new-size
# 127 GiB: 65024 entries (qemu-img create, force_size); 2040 GiB: 1044480 entries
run_case dynamic-127G-to-2040G subformat=dynamic,force_size=on 127G 2040G $(( (1044480 - 65024) * 4 + 24 + 56 ))
run_case fixed-1G-to-2G subformat=fixed,force_size=on 1G 2G 1024
run_case fixed-1G-to-1.5G-full subformat=fixed,force_size=on 1G 1536M $(( 1024 + 512 * 1024 * 1024 - 512 )) \
  grow full
