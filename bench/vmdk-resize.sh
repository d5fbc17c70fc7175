#!/usr/bin/env bash
# VMDK resize cost: bytes DiskPlan writes against the format minimum, and the apply time
# against `dd conv=fsync` of the same number of bytes, in the same run.
#
#   bash bench/vmdk-resize.sh        (after `mvn -q -DskipTests package`)
#
# Cases: monolithicSparse 1 GiB -> 2 TiB (both grain directories moved to the end, 65504
# new grain tables per directory as a sparse extension) and 1 GiB -> 3 GiB (directories
# grow in place); twoGbMaxExtentFlat 3 GiB -> 64 GiB (31 extent files created, sparse).
# "minimum" is what any correct resize must write: for sparse, the new grain directory
# entries in both directories (4 bytes each) and the capacity (8); for the split disk, the
# descriptor bytes that change (its new length less the unchanged prefix). DiskPlan's wall
# time includes JVM start-up.
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
print(sum(p["length"] for p in d["patches"] if p.get("zero_mode", p.get("mode", "")) != "sparse" and p.get("kind") != "extend"))'
}

run_case() { # name create-opts base new minimum-expr
  local name=$1 opts=$2 base=$3 new=$4 minimum=$5
  local d="$work/$name"
  mkdir -p "$d"
  local f="$d/disk.vmdk"
  qemu-img create -q -f vmdk -o "$opts" "$f" "$base"
  qemu-io -f vmdk -c "write -P 0x11 0 1M" "$f" >/dev/null
  cp "$f" "$d/before.txt" 2>/dev/null || true
  local bytes shrink=()
  [[ $name == *shrink* ]] && shrink=(--shrink)
  bytes=$(java -jar "$jar" plan -f vmdk "${shrink[@]}" --output=json "$f" "$new" | written)
  sync
  local s e ms
  s=$(date +%s%N); java -jar "$jar" resize -q -f vmdk "${shrink[@]}" "$f" "$new"; e=$(date +%s%N)
  ms=$(( (e - s) / 1000000 ))
  local extra=0
  if [[ "$minimum" == descriptor+* ]]; then
    extra=${minimum#descriptor+}
    minimum=descriptor
  fi
  if [ "$minimum" = descriptor ]; then
    minimum=$(python3 - "$d/before.txt" "$f" <<'PY'
import sys
a = open(sys.argv[1], 'rb').read().split(b'\0')[0]
b = open(sys.argv[2], 'rb').read().split(b'\0')[0]
i = 0
while i < min(len(a), len(b)) and a[i] == b[i]:
    i += 1
print(len(b) - i)
PY
)
    minimum=$(( minimum + extra ))
  fi
  local ds de
  ds=$(date +%s%N)
  dd if=/dev/zero of="$work/dd.bin" bs=4k count=$(( (bytes + 4095) / 4096 )) conv=fsync status=none
  de=$(date +%s%N)
  printf '%-34s %12s %12s %10s %12s %16s %s\n' "$name" "$bytes" "$minimum" "$ms" "$(( (de - ds) / 1000000 ))" \
    "$(qemu-img info --output=json -f vmdk "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
    "$(qemu-img check -q -f vmdk "$f" && echo check-clean || echo CHECK-FAILED)"
  rm -rf "$d" "$work/dd.bin"
}

printf '%-34s %12s %12s %10s %12s %16s %s\n' case written minimum apply-ms dd-fsync-ms new-size qemu-img
# grain tables cover 512 x 64 KiB = 32 MiB: 1 GiB = 32 entries, 3 GiB = 96, 2 TiB = 65536
run_case sparse-1G-to-2T subformat=monolithicSparse 1G 2T $(( (65536 - 32) * 4 * 2 + 8 ))
run_case sparse-1G-to-3G subformat=monolithicSparse 1G 3G $(( (96 - 32) * 4 * 2 + 8 ))
run_case twoGbFlat-3G-to-64G subformat=twoGbMaxExtentFlat 3G 64G descriptor
# 61 GiB in new sparse extents: 30 of 2 GiB (64 grain tables) and one of 1 GiB (32); each
# needs its 512-byte header and both directories (4 bytes an entry), and the descriptor
run_case twoGbSparse-3G-to-64G subformat=twoGbMaxExtentSparse 3G 64G descriptor+$(( 31 * 512 + 30 * 2 * 64 * 4 + 2 * 32 * 4 ))
# shrink past whole extents: only the descriptor is written; two extent files are removed
run_case twoGbFlat-5G-to-1G-shrink subformat=twoGbMaxExtentFlat 5G 1G descriptor
