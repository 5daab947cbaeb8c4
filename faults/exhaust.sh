#!/usr/bin/env bash
# The exhaustion run (not part of ./lab test): starts runtime/target/labhal.jar with its simulated
# instruments on free loopback ports, opens 4,000 connections to all of its served ports (raw SCPI,
# HiSLIP, VXI-11 core, abort and portmapper) that sit idle, send endless messages or flood without
# reading, keeps them open while it checks that the runtime still serves (clients connected before,
# fresh clients, the Gogo shell), closes them and checks that threads and descriptors come back.
#   faults/exhaust.sh [--connections 4000] [--hold 30] [--jar-ports] [--roles IDLE,IDLE,IDLE,ENDLESS,FLOOD]
#                     [--endless-rate 163840] [--flood-buffer 4096]
# --jar-ports: the jar's own ports (4880, 4881, 5025, 5026, 111) instead of free ones; 111 needs root.
# --endless-rate: bytes per second each endless connection sends. --flood-buffer: the receive buffer of a
# flooding connection (0: the system's, which loopback grows to megabytes the servers fill first).
# Builds with a reactor build that never installs, then runs org.labhal.faults.ExhaustRun on the
# reactor's classes. Exit status 1 when the runtime stopped serving or did not let go of its resources.
set -euo pipefail
cd "$(dirname "$0")/.."

# This process holds every storm connection (one descriptor each) plus the JVM's own: raise the soft
# limit of open files to what the run needs when it is lower (the hard limit is the ceiling).
connections=4000
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ ${args[i]} == --connections ]] && connections=${args[i+1]}
done
need=$((connections + 1024))
soft=$(ulimit -Sn)
if [[ $soft != unlimited && $soft -lt $need ]]; then
  hard=$(ulimit -Hn)
  if [[ $hard != unlimited && $hard -lt $need ]]; then
    echo "exhaust: $need open files needed, the hard limit is $hard (raise it, e.g. in limits.conf)" >&2
    exit 2
  fi
  ulimit -Sn "$need"
  echo "exhaust: raised the soft limit of open files from $soft to $need" >&2
fi

# dependency:build-classpath 2.8 resolves offline here; in the reactor it points at target/classes.
mvn -B -ntp -o -q -pl runtime,faults -am package -DskipTests \
  org.apache.maven.plugins:maven-dependency-plugin:2.8:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
exec java -Xmx512m -cp "faults/target/test-classes:$(cat faults/target/classpath.txt)" \
  org.labhal.faults.ExhaustRun "$@"
