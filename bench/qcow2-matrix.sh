#!/usr/bin/env bash
# Every case of the qcow2 oracle matrix (Qcow2ResizeOracleTest), timed: qemu-img resize,
# the DiskPlan CLI (java -jar, JVM start-up included) and DiskPlan's own work in process
# (probe + plan + apply, warm: median of 10 after >= 20 warm-up runs and 2 s), the bytes each wrote and the
# file length each left; then the CLI's fixed start-up. See Qcow2MatrixBench.
#
#   bash bench/qcow2-matrix.sh [CASE-NAME-FILTER]
# Needs qemu-img, qemu-io and strace. Builds everything (tests skipped) first.
# Run it on an idle machine: the figures are wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q -DskipTests install
mvn -B -ntp -q -pl src/test dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench-classpath.txt
java --add-opens=java.base/java.io=ALL-UNNAMED -Ddiskplan.jar="$PWD/app-fx/target/diskplan.jar" \
  -cp "src/test/target/test-classes:$(cat src/test/target/bench-classpath.txt)" \
  org.diskplan.e2e.Qcow2MatrixBench "$@"

# The CLI's fixed start-up, as a user runs it (no JVM options): `--version` does nothing
# but start the JVM, parse the command line and print; median of 11. Then the packaged
# launcher, when `mvn -Ppackage-app -DskipTests package` has made it.
startup() {
  local label=$1 runs=() s e
  shift
  for i in $(seq 11); do
    s=$(date +%s%N); "$@" --version >/dev/null; e=$(date +%s%N)
    runs+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${runs[@]}" | sort -n | awk -v label="$label" '{a[NR]=$1} END {printf "%s: median %d ms, min %d, max %d of %d runs\n", label, a[int((NR+1)/2)], a[1], a[NR], NR}'
}
startup "CLI fixed start-up (java -jar diskplan.jar --version)" java -jar "$PWD/app-fx/target/diskplan.jar"
packaged=$PWD/packaging/target/jpackage/diskplan/bin/diskplan
if [ -x "$packaged" ]; then
  startup "packaged launcher (bin/diskplan --version)" "$packaged"
fi
