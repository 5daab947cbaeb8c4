#!/usr/bin/env bash
# LAN transport benchmarks (BENCHMARKS.md, "LAN transport benchmarks"): query round trips through the
# HiSLIP, VXI-11 and socket transports and a raw socket client, each to its own simulated SMW200A, and
# a 100 MB block over HiSLIP, through the socket transport and by a raw socket copy. JMH first, then
# the same clients in interleaved windows (InterleavedComparison lan lan-block), whose per-round
# ratios are the ones to trust on a shared machine. About 4 minutes on 2 CPUs. Extra arguments go
# to JMH (e.g. -f 1 for a quick look, -p maxMessageSize=65536 for small HiSLIP messages). Numbers:
# stdout, and benchmarks/target/lan-bench.json.
#
#   benchmarks/run-lan-bench.sh [--no-build] [JMH arguments]
#
# Builds only this module: the API and the transports are the ones in the local Maven repository
# (mvn install of the reactor puts them there) at build time, shaded into benchmarks.jar. Their dates
# and checksums are written to benchmarks/target/lan-bench-build.txt and printed with every run, so
# that the numbers say which build they measured. --no-build measures the jar built before again, e.g.
# while others install changed transports into the shared local repository.
set -euo pipefail
cd "$(dirname "$0")/.."
build=true
if [[ "${1:-}" == "--no-build" ]]; then
  build=false
  shift
fi

echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
if $build; then
  mvn -o -B -ntp -q -pl benchmarks package -DskipTests
  repo="${HOME}/.m2/repository/org/labhal"
  {
    echo "built: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), benchmarks at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- benchmarks || echo ' + local changes')"
    for artifact in org.labhal.api org.labhal.transport.sim org.labhal.transport.socket org.labhal.transport.vxi11 \
        org.labhal.transport.hislip; do
      jar="${repo}/${artifact}/1.0.0-SNAPSHOT/${artifact}-1.0.0-SNAPSHOT.jar"
      echo "shaded: ${artifact}, installed $(date -u -r "${jar}" '+%Y-%m-%d %H:%M:%S UTC'), sha256 $(sha256sum "${jar}" | cut -c1-12)"
    done
  } > benchmarks/target/lan-bench-build.txt
fi
cat benchmarks/target/lan-bench-build.txt 2>/dev/null || echo "built: unknown (no benchmarks/target/lan-bench-build.txt)"

java -jar benchmarks/target/benchmarks.jar 'LanQueryBenchmark|LanBlockBenchmark' \
  -rf json -rff benchmarks/target/lan-bench.json "$@"
java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.InterleavedComparison lan lan-block
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
