#!/usr/bin/env bash
# The soak (not part of ./lab test), in one of two forms:
#   faults/soak.sh [steps, default 1000000] [fault every K steps, default 1000]
#       16 threads x 10 instruments x N steps in all through every transport and lock policy, sessions
#       made in this JVM, with a wire fault every K steps (lasting until the next, 5 s at most).
#   faults/soak.sh --runtime [steps, default 1000000] [seconds between faults, default 2] [--minutes budget]
#       the same through the runtime's own sessions: labhal.jar as a child process with ten configured
#       instruments behind fault proxies, its shell running instr:stress over all ten in rounds of
#       100,000 steps; no round starts once the budget is spent.
# Builds with a reactor build that never installs, then runs org.labhal.faults.SoakRun or RuntimeSoakRun
# on the reactor's classes. Exit status 1 when an answer went to the wrong question or resources leaked.
set -euo pipefail
cd "$(dirname "$0")/.."
main=org.labhal.faults.SoakRun
modules=faults
goal=test-compile
if [[ ${1:-} == --runtime ]]; then
  shift
  main=org.labhal.faults.RuntimeSoakRun
  modules=runtime,faults
  goal=package
fi
# dependency:build-classpath 2.8 is the version that resolves offline here; in the reactor it
# points at each module's target/classes.
mvn -B -ntp -o -q -pl "$modules" -am "$goal" -DskipTests \
  org.apache.maven.plugins:maven-dependency-plugin:2.8:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
exec java -Xmx512m -cp "faults/target/test-classes:$(cat faults/target/classpath.txt)" "$main" "$@"
