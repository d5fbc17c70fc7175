#!/usr/bin/env bash
# qcow2 resize speed and write volume: qemu-img resize against DiskPlan on identical
# copies of the same images, in the same run.
#
#   bash bench/qcow2-resize.sh        (after `mvn -q -DskipTests package`; needs qemu-img,
#                                      qemu-io and strace)
#
# For each case: the wall time of `qemu-img resize`, of `diskplan resize` (JVM start-up
# included), and of DiskPlan in process (probe + plan + apply, bench/ResizeTiming.java,
# no JVM start-up), then the bytes each wrote to the image (and DiskPlan's journal),
# counted from write/pwrite/pwritev calls with strace on separate copies, and the file
# length each left. The two speed cases of issue 4 come first: growing a 3 GiB image with
# 512 B clusters to 64 GiB, and shrinking a full 1 GiB image with 512 B clusters and
# refcount_bits=4 to 512 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
jar=$PWD/app-fx/target/diskplan.jar
[ -f "$jar" ] || { echo "build first: mvn -q -DskipTests package" >&2; exit 1; }
work=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT
timing=$PWD/bench/ResizeTiming.java

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

# bytes written by "$@" to files whose path contains $1 (the image name), from strace
written() {
  local name=$1; shift
  strace -f -qq -y -e trace=write,pwrite64,pwritev,pwritev2,writev -o "$work/strace.log" "$@" >/dev/null 2>&1 || true
  grep -F "$name" "$work/strace.log" | sed -n 's/.*= \([0-9][0-9]*\)$/\1/p' | awk '{s+=$1} END {print s+0}'
}

# make NAME CREATE_OPTS SIZE QEMU_IO_ARGS...
make() {
  local name=$1 opts=$2 size=$3; shift 3
  [ -f "$work/$name.src" ] && return
  qemu-img create -q -f qcow2 ${opts:+-o "$opts"} "$work/$name.src" "$size"
  if [ $# -gt 0 ]; then qemu-io "$@" "$work/$name.src" >/dev/null; fi
}

printf '%-58s %10s %10s %12s %14s %14s %12s %12s\n' case "qemu-img" "DiskPlan" "in-process" "qemu bytes" "DiskPlan bytes" "qemu len" "our len"
run() { # run LABEL NAME SIZE [resize options]
  local label=$1 name=$2 size=$3; shift 3
  local shrink=no mode=off
  for o in "$@"; do
    [ "$o" = --shrink ] && shrink=shrink
    case $o in --preallocation=*) mode=${o#--preallocation=};; esac
  done
  for c in q d i qs ds; do cp --sparse=always "$work/$name.src" "$work/$name.$c.qcow2"; done
  local tq td ti bq bd
  tq=$(ms qemu-img resize "$@" "$work/$name.q.qcow2" -- "$size")
  td=$(ms java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$jar" resize "$@" "$work/$name.d.qcow2" -- "$size")
  ti=$(java --add-opens=java.base/java.io=ALL-UNNAMED -cp "$jar" "$timing" "$work/$name.i.qcow2" "$size" $shrink $mode | awk '{print $4}')
  bq=$(written "$name.qs.qcow2" qemu-img resize "$@" "$work/$name.qs.qcow2" -- "$size")
  bd=$(written "$name.ds.qcow2" java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -jar "$jar" resize "$@" "$work/$name.ds.qcow2" -- "$size")
  printf '%-58s %8s ms %8s ms %9s ms %14s %14s %12s %12s\n' "$label" "$tq" "$td" "$ti" "$bq" "$bd" \
    "$(stat -c %s "$work/$name.q.qcow2")" "$(stat -c %s "$work/$name.d.qcow2")"
  qemu-img check -q "$work/$name.d.qcow2" || echo "  qemu-img check found problems in DiskPlan's result" >&2
  rm -f "$work/$name".{q,d,i,qs,ds}.qcow2
}

make big512 cluster_size=512 3G
run "grow 3 GiB -> 64 GiB, 512 B clusters" big512 64G
if [ ! -f "$work/full1g.src" ]; then
  qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=4 "$work/full1g.src" 1G
  # 1 GiB of data in 64 MiB writes (one 1 GiB write takes qemu-io much longer)
  args=(); for i in $(seq 0 15); do args+=(-c "write -P 0x5a $((i * 64))M 64M"); done
  qemu-io "${args[@]}" "$work/full1g.src" >/dev/null
fi
run "shrink full 1 GiB -> 512 MiB, 512 B clusters, refcount_bits=4" full1g 512M --shrink
make data64k "" 64M -c "write -P 0x5a 0 1M" -c "write -P 0x5a 40M 2M" -c "write -P 0x5a 63M 1M"
run "grow 64 MiB -> 1 TiB, 64 KiB clusters (bigger L1)" data64k 1T
run "grow 64 MiB -> 200 MiB, preallocation=metadata" data64k 200M --preallocation=metadata
run "grow 64 MiB -> 200 MiB, preallocation=falloc" data64k 200M --preallocation=falloc
run "grow 64 MiB -> 200 MiB, preallocation=full" data64k 200M --preallocation=full
run "shrink 64 MiB -> 20 MiB, 64 KiB clusters" data64k 20M --shrink
make t1g "" 1G -c "write -P 0x5a 0 1M"
run "grow 1 GiB -> 64 TiB, 64 KiB clusters" t1g 64T
make snap "" 64M -c "write -P 0x5a 0 1M" -c "write -P 0x5a 40M 2M"
[ -f "$work/snap.done" ] || { qemu-img snapshot -c s1 "$work/snap.src"; qemu-io -c "write -P 0x33 41M 1M" "$work/snap.src" >/dev/null; touch "$work/snap.done"; }
run "shrink through a snapshot 64 MiB -> 40 MiB" snap 40M --shrink
make comp512 cluster_size=512 64M -c "write -c -P 0x5a 0 1M" -c "write -c -P 0x5a 40M 2M"
run "shrink compressed 64 MiB -> 40 MiB, 512 B clusters" comp512 40M --shrink
make grow512 cluster_size=512 64M -c "write -P 0x5a 0 1M"
run "grow 64 MiB -> 100 GiB, 512 B clusters (refcount table grows)" grow512 100G
