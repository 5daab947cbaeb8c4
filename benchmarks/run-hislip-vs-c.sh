#!/usr/bin/env bash
# Issue 11's HiSLIP aim (BENCHMARKS.md, "HiSLIP against a C responder"): *IDN? round trips of one LabHAL
# HiSLIP session against the C HiSLIP responder and of one LabHAL socket session against the C SCPI
# responder (both built here with gcc), with the raw clients of both protocols beside them, in
# interleaved windows of one run (HislipWireComparison). About 2 minutes on 2 CPUs with the defaults.
#
#   benchmarks/run-hislip-vs-c.sh [--no-build] [--before REV] [--profile [SECONDS]] [harness options]
#
#   --no-build     measure the benchmarks.jar built before again
#   --before REV   also run the HiSLIP session of commit REV (e.g. main) in the same run: its API and
#                  HiSLIP transport are built once from `git archive REV` into
#                  benchmarks/target/before-hislip-<commit>/ and loaded in a class loader of their own
#   --profile [S]  instead of the comparison, run the LabHAL HiSLIP and socket sessions (and the old
#                  one with --before) alone against the C responders for S seconds (20) under JFR, and
#                  print where the time goes (JfrTop); recordings in benchmarks/target/jfr/
# Harness options: --servers c,java (java: HislipServer and SimServer), --rounds 40, --warmup 8,
# --clients hislip,socket,rawHislip,raw (the default; before is added with --before).
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

# gcc, installed as ./lab installs its test tools: a Debian package, lists updated only when needed.
if ! command -v gcc >/dev/null 2>&1; then
  echo "run-hislip-vs-c: installing gcc (builds the C responders)" >&2
  apt-get install -y gcc >/dev/null 2>&1 || { apt-get update -q && apt-get install -y gcc; }
fi

echo "start: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
mkdir -p benchmarks/target
gcc -O2 -Wall -Wextra -std=c11 -o benchmarks/target/scpi_responder benchmarks/c/scpi_responder.c
gcc -O2 -Wall -Wextra -std=c11 -o benchmarks/target/hislip_responder benchmarks/c/hislip_responder.c
if $build; then
  # the API and transports of this tree, not the local repository's
  mvn -o -B -ntp -q -pl benchmarks -am package -DskipTests
  echo "built: $(date -u '+%Y-%m-%d %H:%M:%S UTC') at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- api transports/hislip transports/socket benchmarks || echo ' + local changes')" \
    > benchmarks/target/hislip-vs-c-build.txt
fi
cat benchmarks/target/hislip-vs-c-build.txt 2>/dev/null || echo "built: unknown"

if [[ -n "$before" ]]; then
  commit=$(git rev-parse --short "$before^{commit}")
  dir="benchmarks/target/before-hislip-$commit"
  if [[ ! -f "$dir/org.labhal.transport.hislip.jar" ]]; then
    echo "building the API and HiSLIP transport of $before ($commit) into $dir"
    rm -rf "$dir" && mkdir -p "$dir/src"
    git archive "$commit" | tar -x -C "$dir/src"
    (cd "$dir/src" && mvn -o -B -ntp -q -pl transports/hislip -am package -DskipTests)
    cp "$dir"/src/api/target/org.labhal.api-*.jar "$dir/org.labhal.api.jar"
    cp "$dir"/src/transports/hislip/target/org.labhal.transport.hislip-*.jar "$dir/org.labhal.transport.hislip.jar"
    rm -rf "$dir/src"
  fi
  echo "before: $before = $commit, jars in $dir"
  harness+=(--before "$dir")
fi

jar=benchmarks/target/benchmarks.jar
main=org.labhal.benchmarks.HislipWireComparison
if [[ -n "$profile" ]]; then
  mkdir -p benchmarks/target/jfr
  clients=(hislip socket)
  [[ -n "$before" ]] && clients=(hislip before socket)
  for client in "${clients[@]}"; do
    recording="benchmarks/target/jfr/hislip-$client.jfr"
    java -XX:StartFlightRecording=delay=8s,filename="$recording",settings=benchmarks/jfr/socket-profile.jfc \
      -cp "$jar" "$main" --profile "$profile" --client "$client" --server c "${harness[@]}"
    java -cp "$jar" org.labhal.benchmarks.JfrTop "$recording" main 25
  done
else
  java -cp "$jar" "$main" "${harness[@]}"
fi
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
