#!/usr/bin/env bash
# Transport benchmarks (BENCHMARKS.md, "Transports"): query round trips over TCP, the 100 MB block read
# and queries over a pty, each against its baseline in the same run. Builds the benchmark jar, runs the
# JMH benchmarks, then the same clients in interleaved windows (InterleavedComparison), whose per-round
# ratios hold up on a machine shared with other builds; about 4.5 minutes on 2 CPUs. Extra arguments go
# to JMH (e.g. -f 1 for a quick look). Numbers: stdout, and benchmarks/target/transport-bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# socat makes the pseudo-terminal of PtyQueryBenchmark (as in ./lab test).
if ! command -v socat >/dev/null; then
  echo "run-transport-bench: installing socat (the pseudo-terminal of the pty benchmark)" >&2
  apt-get install -y socat >/dev/null 2>&1 || { apt-get update -q && apt-get install -y socat; }
fi

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
mvn -B -ntp -q -pl benchmarks -am package -DskipTests
java -jar benchmarks/target/benchmarks.jar 'SocketQueryBenchmark|BlockReadBenchmark|PtyQueryBenchmark' \
  -rf json -rff benchmarks/target/transport-bench.json "$@"
java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.InterleavedComparison
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
