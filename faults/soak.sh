#!/usr/bin/env bash
# The soak (not part of ./lab test): 16 threads x 10 instruments x N steps in all through every
# transport and lock policy, with a wire fault every K steps.
#   faults/soak.sh [steps, default 1000000] [fault every K steps, default 1000]
# Builds with a reactor build that never installs, then runs org.labhal.faults.SoakRun on the
# reactor's classes. Exit status 1 when an answer went to the wrong question or resources leaked.
set -euo pipefail
cd "$(dirname "$0")/.."
# dependency:build-classpath 2.8 is the version that resolves offline here; in the reactor it
# points at each module's target/classes.
mvn -B -ntp -o -q -pl faults -am test-compile -Dmaven.test.skip.exec=true \
  org.apache.maven.plugins:maven-dependency-plugin:2.8:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
exec java -Xmx512m -cp "faults/target/test-classes:$(cat faults/target/classpath.txt)" \
  org.labhal.faults.SoakRun "$@"
