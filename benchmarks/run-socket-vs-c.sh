#!/usr/bin/env bash
# Issue 11 (BENCHMARKS.md, "Socket queries against a server that is not ours"): *IDN? round trips of
# one LabHAL socket session against the raw blocking java.net.Socket client and PyVISA-py, against the
# C responder of benchmarks/c (built here with gcc) and against SimServer, in interleaved windows of
# one run (SocketWireComparison). About 3 minutes on 2 CPUs with the defaults.
#
#   benchmarks/run-socket-vs-c.sh [--no-build] [--before REV] [--profile [SECONDS]] [harness options]
#
#   --no-build     measure the benchmarks.jar built before again
#   --before REV   also run the socket session of commit REV (e.g. main) in the same run: its API and
#                  socket transport are built once from `git archive REV` into
#                  benchmarks/target/before-<commit>/ and loaded in a class loader of their own
#   --profile [S]  instead of the comparison, run each LabHAL client and the raw client alone against
#                  the C responder for S seconds (20) under JFR, and print where the time goes (JfrTop);
#                  recordings in benchmarks/target/jfr/
# Harness options: --servers c,c-single,sim (c-crlf too), --rounds 40, --warmup 8, --no-pyvisa.
# PyVISA-py comes from Debian's python3-pyvisa-py (installed here as ./lab test installs it) and runs
# under /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."

build=true
before=""
profile=""
harness=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=false; shift ;;
    --before) before="$2"; shift 2 ;;
    --profile)
      profile=20; shift
      if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then profile="$1"; shift; fi ;;
    *) harness+=("$1"); shift ;;
  esac
done

# The tools, installed as ./lab installs its test tools: Debian packages, lists updated only when needed.
ensure() { # package why check...
  local package=$1 why=$2; shift 2
  "$@" >/dev/null 2>&1 && return 0
  echo "run-socket-vs-c: installing $package ($why)" >&2
  apt-get install -y "$package" >/dev/null 2>&1 || { apt-get update -q && apt-get install -y "$package"; }
}
ensure gcc "builds the C SCPI responder" command -v gcc
ensure python3-pyvisa-py "PyVISA-py, the third client" /usr/bin/python3 -c 'import pyvisa, pyvisa_py'

echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "pyvisa: $(/usr/bin/python3 -c 'import pyvisa, pyvisa_py, sys; print("PyVISA", pyvisa.__version__, "pyvisa-py", getattr(pyvisa_py, "__version__", "?"), "Python", sys.version.split()[0])')"
mkdir -p benchmarks/target
gcc -O2 -Wall -Wextra -std=c11 -o benchmarks/target/scpi_responder benchmarks/c/scpi_responder.c
if $build; then
  mvn -o -B -ntp -q -pl benchmarks -am package -DskipTests
  echo "built: $(date -u '+%Y-%m-%d %H:%M:%S UTC') at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- api transports/socket benchmarks || echo ' + local changes')" \
    > benchmarks/target/socket-vs-c-build.txt
fi
cat benchmarks/target/socket-vs-c-build.txt 2>/dev/null || echo "built: unknown"

if [[ -n "$before" ]]; then
  commit=$(git rev-parse --short "$before^{commit}")
  dir="benchmarks/target/before-$commit"
  if [[ ! -f "$dir/org.labhal.transport.socket.jar" ]]; then
    echo "building the API and socket transport of $before ($commit) into $dir"
    rm -rf "$dir" && mkdir -p "$dir/src"
    git archive "$commit" | tar -x -C "$dir/src"
    (cd "$dir/src" && mvn -o -B -ntp -q -pl transports/socket -am package -DskipTests)
    cp "$dir"/src/api/target/org.labhal.api-*.jar "$dir/org.labhal.api.jar"
    cp "$dir"/src/transports/socket/target/org.labhal.transport.socket-*.jar "$dir/org.labhal.transport.socket.jar"
    rm -rf "$dir/src"
  fi
  echo "before: $before = $commit, jars in $dir"
  harness+=(--before "$dir")
fi

jar=benchmarks/target/benchmarks.jar
main=org.labhal.benchmarks.SocketWireComparison
if [[ -n "$profile" ]]; then
  mkdir -p benchmarks/target/jfr
  clients=(labhal raw)
  [[ -n "$before" ]] && clients=(labhal before raw)
  for client in "${clients[@]}"; do
    recording="benchmarks/target/jfr/$client.jfr"
    java -XX:StartFlightRecording=delay=8s,filename="$recording",settings=benchmarks/jfr/socket-profile.jfc \
      -cp "$jar" "$main" --profile "$profile" --client "$client" --server c "${harness[@]}"
    java -cp "$jar" org.labhal.benchmarks.JfrTop "$recording" main 25
  done
else
  java -cp "$jar" "$main" "${harness[@]}"
fi
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
