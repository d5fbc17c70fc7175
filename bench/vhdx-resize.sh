#!/usr/bin/env bash
# VHDX resize cost (through the VHDX log): bytes DiskPlan writes against the format's
# minimum, and the apply time against `dd conv=fsync` of the same number of bytes, in the
# same run.
#
#   bash bench/vhdx-resize.sh        (after `mvn -q -DskipTests package`)
#
# Cases: dynamic 1 GiB -> 64 TiB at 1 MiB and at 256 MiB blocks (both need a bigger BAT
# region). "minimum" is what any crash-safe resize through the log must write: the old BAT
# entries copied into the new region (8 bytes each; the new entries are "not present",
# zeros, left sparse), one log entry (a 4 KiB header sector and three 4 KiB data sectors:
# the virtual disk size item and both region tables), those three sectors in place, and two
# 4 KiB header writes. DiskPlan's wall time includes JVM start-up.
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
print(sum(p["length"] for p in d["patches"] if p.get("kind") != "extend" and p.get("zero_mode", p.get("mode", "")) != "sparse"))'
}

run_case() { # name create-opts base new old-bat-entries
  local name=$1 opts=$2 base=$3 new=$4 old_entries=$5
  local f="$work/$name.vhdx"
  rm -f "$f" "$work/dd.bin"
  qemu-img create -q -f vhdx -o "$opts" "$f" "$base"
  qemu-io -f vhdx -c "write -P 0x11 0 1M" "$f" >/dev/null
  local bytes minimum=$(( old_entries * 8 + 9 * 4096 ))
  bytes=$(java -jar "$jar" plan -f vhdx --output=json "$f" "$new" | written)
  sync
  local s e d
  s=$(date +%s%N); java -jar "$jar" resize -q -f vhdx "$f" "$new"; e=$(date +%s%N)
  d=$(( (e - s) / 1000000 ))
  local ds de
  ds=$(date +%s%N)
  dd if=/dev/zero of="$work/dd.bin" bs=4k count=$(( (bytes + 4095) / 4096 )) conv=fsync status=none
  de=$(date +%s%N)
  qemu-img check -q -f vhdx "$f" || echo "  qemu-img check found problems in DiskPlan's result" >&2
  printf '%-34s %14s %14s %10s %12s %16s\n' "$name" "$bytes" "$minimum" "$d" \
    "$(( (de - ds) / 1000000 ))" "$(qemu-img info --output=json -f vhdx "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')"
}

printf '%-34s %14s %14s %10s %12s %16s\n' case written minimum apply-ms dd-fsync-ms new-size
# 1 GiB at 1 MiB blocks: 1024 payload entries (chunk ratio 4096: no bitmap entry between them)
run_case dynamic-1M-1G-to-64T block_size=1M 1G 64T 1024
# 1 GiB at 256 MiB blocks: 4 entries
run_case dynamic-256M-1G-to-64T block_size=256M 1G 64T 4
