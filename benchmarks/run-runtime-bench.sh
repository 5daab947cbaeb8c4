#!/usr/bin/env bash
# Runtime benchmarks (BENCHMARKS.md, "Runtime"): start-up, heap after start, hot deploy of a driver
# bundle and instr:stress on both simulators, each against its baseline in the same run, on the built
# runtime/target/labhal.jar. Builds everything (tests skipped), then runs the harness
# org.labhal.benchmarks.runtime.RuntimeBenchmark; about 8 minutes on 2 CPUs. Extra arguments go to the
# harness: --runs 10 --trials 5 --steps 200000 --warmups 3 --repeats 2 are the defaults; --before <jar>
# runs an older build in the same rounds, --only startup,drop,idle picks sections (BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

mvn -B -ntp -q install -DskipTests
exec java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.runtime.RuntimeBenchmark \
  --jar runtime/target/labhal.jar "$@"
