#!/usr/bin/env bash
# VDI resize cost: bytes DiskPlan writes against the format's minimum, and DiskPlan's
# in-process apply time (bench/ResizeTiming.java: probe + plan + apply, no JVM start-up)
# against `dd conv=fsync` of the same number of bytes, in the same run. qemu-img cannot
# resize VDI, so dd of the same bytes is the peer.
#
#   bash bench/vdi-resize.sh        (after `mvn -q -DskipTests package`; strace optional)
#
# Cases (qemu-img create -f vdi layout: map at 512, data after it; 16 MiB of guest data
# in the first blocks):
#   1G -> 2T   the map grows from 1024 to 2 Mi entries (8 MiB): 8 data blocks move to the
#              end, offData moves up 8 MiB, every index drops by 8 (the commit write).
#   1G -> 1T   the same with a 4 MiB map (4 blocks move).
#   16G -> 17G qemu leaves no room after the map (offData is the map's end rounded to a
#              sector), so even a small grow moves 1 block.
# "minimum" is what any resize of that layout must write: the new map (every entry changes
# when offData moves; new entries are 0xffffffff, not zeros), the moved blocks, and the
# header fields (one sector). "plan" is the plan's bytes (Write/Copy/ZeroFill lengths);
# "strace" (when strace is installed) is what the process really wrote to the image and
# its undo journal, from write/pwrite calls.
set -euo pipefail
cd "$(dirname "$0")/.."
jar=$PWD/app-fx/target/diskplan.jar
[ -f "$jar" ] || { echo "build first: mvn -q -DskipTests package" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timing=$PWD/bench/ResizeTiming.java
MiB=$((1 << 20))

written() { # bytes written by "$@" to files whose path contains $1
  local name=$1; shift
  if ! command -v strace >/dev/null; then "$@" >/dev/null 2>&1; echo n/a; return; fi
  strace -f -qq -y -e trace=write,pwrite64,pwritev,pwritev2,writev -o "$work/strace.log" "$@" >/dev/null 2>&1 || true
  grep -F "$name" "$work/strace.log" | sed -n 's/.*= \([0-9][0-9]*\)$/\1/p' | awk '{s+=$1} END {print s+0}'
}

printf '%-14s %12s %12s %12s %10s %12s %14s %s\n' case minimum plan strace apply-ms dd-fsync-ms new-size qemu-img
run_case() { # name base new
  local name=$1 base=$2 new=$3
  local f="$work/$name.vdi" s="$work/$name.s.vdi"
  qemu-img create -q -f vdi "$f" "$base"
  qemu-io -f vdi -c "write -P 0x11 0 16M" "$f" >/dev/null
  cp --sparse=always "$f" "$s"
  local old_off new_blocks
  old_off=$(python3 -c 'import struct,sys; print(struct.unpack_from("<I", open(sys.argv[1],"rb").read(512), 344)[0])' "$f")
  new_blocks=$(( ($(numfmt --from=iec "$new") + MiB - 1) / MiB ))
  local map_end=$(( 512 + new_blocks * 4 ))
  local k=$(( map_end > old_off ? (map_end - old_off + MiB - 1) / MiB : 0 ))
  local moved=$(( k < 16 ? k : 16 ))
  local minimum=$(( new_blocks * 4 + moved * MiB + 512 ))
  sync
  local out ms bytes
  out=$(java --add-opens=java.base/java.io=ALL-UNNAMED -cp "$jar" "$timing" "$f" "$new")
  ms=$(awk '{print $3}' <<<"$out"); bytes=$(awk '{print $6}' <<<"$out")
  local traced
  traced=$(written "$name.s.vdi" java -jar "$jar" resize -q "$s" -- "$new")
  local ds de
  ds=$(date +%s%N)
  dd if=/dev/zero of="$work/dd.bin" bs=64k count=$(( (bytes + 65535) / 65536 )) conv=fsync status=none
  de=$(date +%s%N)
  local check
  check=$(qemu-img check -q -f vdi "$f" >/dev/null 2>&1 && qemu-io -f vdi -c "read -P 0x11 0 16M" "$f" | grep -q 'read 16777216' \
    && echo "clean, data read back" || echo CHECK-FAILED)
  printf '%-14s %12s %12s %12s %10s %12s %14s %s\n' "$name" "$minimum" "$bytes" "$traced" "$ms" \
    "$(( (de - ds) / 1000000 ))" \
    "$(qemu-img info --output=json -f vdi "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
    "$check"
  rm -f "$f" "$s" "$work/dd.bin"
}

run_case 1G-to-2T 1G 2T
run_case 1G-to-1T 1G 1T
run_case 16G-to-17G 16G 17G
