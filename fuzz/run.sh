#!/usr/bin/env bash
# Fuzzes one target for a set time (or until a number of inputs ran) and prints how many inputs it ran.
#   fuzz/run.sh <Target> <seconds> [runs]   e.g. fuzz/run.sh ResourceAddressFuzzTest 600
#                                          or   fuzz/run.sh HislipFrameFuzzTest 3600 10000000
# <Target> is a fuzz test class (fuzz/README.md lists them). It builds the fuzz module and what it
# needs (FUZZ_NO_BUILD=1 reuses the last build), then runs the target in one JVM. Findings go into the
# target's corpus folder under src/test/resources (the Inputs folder named after the class), where the
# regression run of ./lab test picks them up; the corpus the fuzzer grows is kept in
# fuzz/.cifuzz-corpus/ (not committed). Run one fuzzer at a time: the machines are shared.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 2 || $# -gt 3 || ! $2 =~ ^[1-9][0-9]*$ || ! ${3:-1} =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: fuzz/run.sh <Target> <seconds> [runs]   (targets: see fuzz/README.md)" >&2
  exit 2
fi
target=$1 seconds=$2 runs=${3:--1}
source=$(find fuzz/src/test/java -name "$target.java" | head -1)
if [[ -z $source ]]; then
  echo "fuzz/run.sh: no fuzz test class named $target under fuzz/src/test/java" >&2
  exit 2
fi
class=${source#fuzz/src/test/java/}
class=${class%.java}
class=${class//\//.}

mkdir -p fuzz/target
if [[ ${FUZZ_NO_BUILD:-} != 1 || ! -f fuzz/target/fuzz.classpath ]]; then
  # test-compile in the reactor puts the sibling modules' target/classes on the classpath it writes.
  mvn -B -ntp -o -q test-compile dependency:build-classpath -pl fuzz -am \
    -Dmdep.outputFile=target/fuzz.classpath -Dmdep.includeScope=test
fi

log=fuzz/target/fuzz-$target.log
status=0
# Jazzer writes findings relative to the module folder, so run from there. The heap is capped (an
# allocation sized by the input fails instead of passing unseen; libFuzzer's own memory comes on top).
# jazzer.internal.arg.* are libFuzzer arguments after argv0; -max_total_time overrides maxDuration.
(cd fuzz && JAZZER_FUZZ=1 java -Xmx1g -XX:+UseParallelGC -XX:-OmitStackTraceInFastThrow -Djdk.attach.allowAttachSelf=true \
  -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-max_total_time="$seconds" \
  -Djazzer.internal.arg.2=-print_final_stats=1 -Djazzer.internal.arg.3=-runs="$runs" \
  -cp "target/test-classes:$(cat target/fuzz.classpath)" org.labhal.fuzz.FuzzMain "$class") >"$log" 2>&1 \
  || status=$?

runs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
echo "$target: ${runs:-no run count found} (log: $log)"
grep -E '== Java Exception|Test unit written to|crash-[0-9a-f]+' "$log" | head -5 || true
exit "$status"
