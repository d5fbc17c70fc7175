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
# (plus the new range with preallocation=full). DiskPlan's wall time includes JVM start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
jar=app-fx/target/diskplan.jar
[ -f "$jar" ] || { echo "build first: mvn -q -DskipTests package" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

written() { # plan json on stdin -> bytes the plan writes (sparse extensions excluded)
  python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(p["length"] for p in d["patches"] if p.get("zero_mode", p.get("mode", "")) != "sparse"))'
}

run_case() { # name create-opts base new minimum [resize options...]
  local name=$1 opts=$2 base=$3 new=$4 minimum=$5; shift 5
  local f="$work/$name.vhd"
  rm -f "$f" "$work/dd.bin"
  qemu-img create -q -f vpc -o "$opts" "$f" "$base"
  qemu-io -f vpc -c "write -P 0x11 0 1M" "$f" >/dev/null
  local bytes
  bytes=$(java -jar "$jar" plan -f vpc "$@" --output=json "$f" "$new" | written)
  sync
  local s e d
  s=$(date +%s%N); java -jar "$jar" resize -q -f vpc "$@" "$f" "$new"; e=$(date +%s%N)
  d=$(( (e - s) / 1000000 ))
  local ds de
  ds=$(date +%s%N)
  dd if=/dev/zero of="$work/dd.bin" bs=64k count=$(( (bytes + 65535) / 65536 )) conv=fsync status=none
  de=$(date +%s%N)
  printf '%-34s %14s %14s %10s %12s %10s\n' "$name" "$bytes" "$minimum" "$d" \
    "$(( (de - ds) / 1000000 ))" "$(qemu-img info --output=json -f vpc "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')"
}

printf '%-34s %14s %14s %10s %12s %10s\n' case written minimum apply-ms dd-fsync-ms new-size
# 127 GiB: 65025 entries; 2040 GiB: 1044480 entries
run_case dynamic-127G-to-2040G subformat=dynamic,force_size=on 127G 2040G $(( (1044480 - 65025) * 4 + 24 + 56 ))
run_case fixed-1G-to-2G subformat=fixed,force_size=on 1G 2G 1024
run_case fixed-1G-to-1.5G-full subformat=fixed,force_size=on 1G 1536M $(( 1024 + 512 * 1024 * 1024 - 512 )) \
  --preallocation=full
