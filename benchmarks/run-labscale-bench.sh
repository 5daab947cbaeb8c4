#!/usr/bin/env bash
# Lab-scale benchmark (BENCHMARKS.md, "Lab scale (issue 11)"): one runtime with 1,000 configured
# instruments (half SIM, half raw SCPI over loopback sockets against SimServers this harness serves),
# 4 sessions each, against the same harness with 1 instrument in alternating runs. Builds the jars
# offline (tests skipped, nothing installed into ~/.m2), then runs
# org.labhal.benchmarks.runtime.LabScaleBenchmark: about 2 minutes per run pair on 2 CPUs. Extra
# arguments go to the harness: --instruments 1000 --runs 3 --commands 10 are the defaults;
# --jfr <dir> records a JFR profile of each 1,000-instrument run, --logs <dir> keeps each runtime's output.
set -euo pipefail
cd "$(dirname "$0")/.."

mvn -B -ntp -o -q package -DskipTests
exec java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.runtime.LabScaleBenchmark \
  --jar runtime/target/labhal.jar "$@"
