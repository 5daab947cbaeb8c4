#!/usr/bin/python3
"""PyVISA-py as one client of the interleaved socket benchmark (SocketWireComparison).

Opens RESOURCE with the pure-Python backend (@py) and then waits on stdin for commands from the Java
harness, so that its windows interleave with the Java clients' in one run:

    window SECONDS   asks QUERY until SECONDS have passed (at least once), checking every answer, and
                     prints "<queries> <elapsed seconds>" timed with perf_counter around the loop
    quit             closes the resource and exits

Usage: pyvisa_window.py RESOURCE QUERY EXPECTED [lf|crlf]
Between windows it blocks on stdin and uses no CPU.
"""
import sys
import time

import pyvisa


def main():
    resource, query, expected = sys.argv[1], sys.argv[2], sys.argv[3]
    ending = "\r\n" if len(sys.argv) > 4 and sys.argv[4] == "crlf" else "\n"
    manager = pyvisa.ResourceManager("@py")
    instrument = manager.open_resource(resource, read_termination=ending, write_termination="\n",
                                       timeout=5000)
    print("ready " + instrument.query(query), flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            if words[0] != "window":
                raise SystemExit("pyvisa_window: unknown command " + line.strip())
            seconds = float(words[1])
            count = 0
            begin = time.perf_counter()
            while True:
                answer = instrument.query(query)
                if answer != expected:
                    raise SystemExit("pyvisa_window: expected %r, got %r" % (expected, answer))
                count += 1
                now = time.perf_counter()
                if now - begin >= seconds:
                    break
            print("%d %.9f" % (count, now - begin), flush=True)
    finally:
        instrument.close()
        manager.close()


if __name__ == "__main__":
    main()
