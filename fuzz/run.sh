#!/usr/bin/env bash
# Fuzzes one target for a set time and prints how many inputs it ran.
#   fuzz/run.sh <Target> <seconds>     e.g. fuzz/run.sh ResourceAddressFuzzTest 600
# <Target> is a fuzz test class (fuzz/README.md lists them). Findings go into the target's corpus
# folder under src/test/resources (the Inputs folder named after the class), where the regression run
# of ./lab test picks them up; the growing corpus is kept in fuzz/.cifuzz-corpus/ (not committed).
# Runs one fuzzer at a time on purpose: the machines are shared.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 2 || ! $2 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: fuzz/run.sh <Target> <seconds>   (targets: see fuzz/README.md)" >&2
  exit 2
fi
target=$1 seconds=$2
if ! find fuzz/src/test/java -name "$target.java" | grep -q .; then
  echo "fuzz/run.sh: no fuzz test class named $target under fuzz/src/test/java" >&2
  exit 2
fi

log=fuzz/target/fuzz-$target.log
mkdir -p fuzz/target
# jazzer.internal.arg.* are libFuzzer arguments after argv0; given last, -max_total_time overrides the
# annotation's maxDuration. -Xmx1g caps the heap (libFuzzer's own memory comes on top).
status=0
JAZZER_FUZZ=1 mvn -B -ntp -o verify -pl fuzz -am \
  -Dtest="$target" -Dsurefire.failIfNoSpecifiedTests=false \
  -Dfuzz.jvm="-Xmx1g -XX:+UseParallelGC -XX:-OmitStackTraceInFastThrow" \
  -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-max_total_time="$seconds" \
  -Djazzer.internal.arg.2=-print_final_stats=1 >"$log" 2>&1 || status=$?

runs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
findings=$(grep -E '== Java Exception|FuzzTestFindingException|Test unit written to' "$log" || true)
echo "$target: ${runs:-no run count found} (log: $log)"
if [[ -n $findings ]]; then
  echo "$findings"
fi
exit "$status"
