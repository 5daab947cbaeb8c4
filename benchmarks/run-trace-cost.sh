#!/usr/bin/env bash
# Issue 13 (BENCHMARKS.md, "Trace cost"): the same *IDN? query through sessions without observer, with the
# runtime's trace off and on, in interleaved windows of one run (TraceCostComparison), against the in-process
# simulator, SimServer over TCP and the C responder of benchmarks/c (built here with gcc). About 4 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v gcc >/dev/null; then
  echo "run-trace-cost: installing gcc (builds the C SCPI responder)" >&2
  apt-get install -y gcc >/dev/null 2>&1 || { apt-get update -q && apt-get install -y gcc; }
fi
echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
mkdir -p benchmarks/target
gcc -O2 -Wall -Wextra -std=c11 -o benchmarks/target/scpi_responder benchmarks/c/scpi_responder.c
mvn -B -ntp -q -pl benchmarks -am package -DskipTests
java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.TraceCostComparison benchmarks/target/scpi_responder
echo "end: load average $(cut -d' ' -f1-3 /proc/loadavg)"
