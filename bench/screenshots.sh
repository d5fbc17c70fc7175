#!/usr/bin/env bash
# The README's screenshots, from the real window under Xvfb (no desktop needed):
#   docs/screenshots/window-inspector.png  header inspector, a field's bytes highlighted
#   docs/screenshots/window-plan.png       the built-in sample with a plan, a step selected, the layout before/after
#   docs/screenshots/window-shrink.png     the shrink warning over the window, the data it cuts marked on the layout map
#                                          (qemu-io writes guest data into the sample's last quarter first)
#   docs/screenshots/window-damaged.png    a damaged VHD: the fields read before the error, the bad one marked
#   and, to look at only, every view at 1024x640 and 1920x1080 in $TMPDIR/diskplan-screenshots
#
#   bash bench/screenshots.sh [INSPECTED PLANNED SIZE]   (default: qcow2 qcow2 +10G, vpc/raw until qcow2 lands)
# Needs xvfb (xvfb-run) and libgtk-3-0. Builds app-fx (jar and test classes) first.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q -pl app-fx -am -DskipTests package
xvfb-run -a -s "-screen 0 1920x1200x24" \
  java -cp app-fx/target/diskplan.jar:app-fx/target/test-classes \
  org.diskplan.app.fx.Screenshots docs/screenshots "$@"
