#!/usr/bin/env bash
# Issue 11 (BENCHMARKS.md, "VXI-11 and HiSLIP against the socket transport and lxi"): *IDN? round trips
# through LabHAL's VXI-11 (with and without read-ahead), HiSLIP and socket transports, the raw socket
# client and lxi-tools' `lxi benchmark`, in interleaved windows. The VXI-11 simulator's portmapper takes
# port 111 (lxi knows no other): run as root with no rpcbind, or pass --no-lxi. Builds the reactor's
# jars (tests skipped) unless --no-build comes first; other arguments go to LanWireComparison
# (--rounds 40 --warmup 8).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--no-build" ]]; then
  shift
else
  mvn -B -ntp -o -q install -DskipTests -pl api,server,transports/sim,transports/socket,transports/vxi11,transports/hislip
  mvn -B -ntp -o -q package -DskipTests -pl benchmarks
fi
if [[ " $* " != *" --no-lxi "* ]] && ! command -v lxi >/dev/null; then
  echo "lxi not found: apt-get install --no-install-recommends lxi-tools, or pass --no-lxi" >&2
  exit 1
fi
echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' + local changes')"
exec java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.LanWireComparison "$@"
