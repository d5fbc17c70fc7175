#!/usr/bin/env bash
# Window benchmarks in the real window under Xvfb (see WindowBench): timeline frames
# with 10,000 patches (hover, zoom, scroll; budget 16 ms a frame) and typed size to
# plan shown for a 1 TiB image (budget 100 ms). Run it on an idle machine.
#
#   bash bench/window.sh
# Needs xvfb (xvfb-run) and libgtk-3-0. Builds app-fx (jar and test classes) first.
# WINDOW_BENCH_JAVA_OPTS adds JVM options: -Ddiskplan.bench.liveOnly=true times only the
# on-screen pulses, -Ddiskplan.bench.pulseDump=/tmp/pulse keeps the pulse logger's lines.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q -pl app-fx -am -DskipTests package
xvfb-run -a -s "-screen 0 1400x900x24" \
  java ${WINDOW_BENCH_JAVA_OPTS:-} -Djavafx.pulseLogger=true -Djavafx.pulseLogger.threshold=0 -cp app-fx/target/diskplan.jar:app-fx/target/test-classes \
  org.diskplan.app.fx.WindowBench 2>&1 | grep -v -e 'Unsupported JavaFX configuration' -e 'PlatformImpl startup'
