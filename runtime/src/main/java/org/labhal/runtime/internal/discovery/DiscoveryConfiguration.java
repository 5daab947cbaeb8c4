package org.labhal.runtime.internal.discovery;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** How {@code instr:discover} searches: configuration PID {@value Inbox#PID}. */
@ObjectClassDefinition(id = Inbox.PID, name = "LabHAL discovery",
        description = "Where and how instr:discover looks for instruments. Nothing listens, broadcasts or touches a "
                + "port until instr:discover is run.")
@interface DiscoveryConfiguration {

    @AttributeDefinition(name = "Interfaces", description = "Local addresses or interface names network searches "
            + "(mDNS, the VXI-11 broadcast) use, e.g. 127.0.0.1 or eth0; none: no network search")
    String[] interfaces() default { "127.0.0.1" };

    @AttributeDefinition(name = "Search time", description = "Milliseconds a search may take when instr:discover "
            + "gives no time, 1 to 600000", min = "1", max = "600000")
    int timeout() default 5000;

    @AttributeDefinition(name = "Probe time", description = "Milliseconds the *IDN? probe of one found instrument "
            + "may take (connecting, then the answer), 1 to 60000", min = "1", max = "60000")
    int probeTimeout() default 1000;

    @AttributeDefinition(name = "Serial ports to probe", description = "Serial ports that may be probed with *IDN?, "
            + "each with its baud rate: /dev/ttyUSB0@9600,/dev/ttyS1@115200. Other ports are listed, never probed, "
            + "since unsolicited bytes upset some instruments", required = false)
    String serialProbe() default "";

    @AttributeDefinition(name = "GPIB boards to scan", description = "GPIB boards whose addresses 1-30 may be "
            + "scanned for instruments, e.g. 0 or 0,1; none: no scan", required = false)
    String gpibScan() default "";
}
