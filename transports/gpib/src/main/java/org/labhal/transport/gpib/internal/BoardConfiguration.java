package org.labhal.transport.gpib.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One GPIB board: which Prologix-style controller is {@code GPIB<board>}. A factory configuration of
 * {@value BoardSettings#FACTORY_PID}, e.g. the file {@code org.labhal.gpib.board-bench.cfg}.
 * {@link BoardSettings#from} checks the raw values so that a bad one gets a message naming it.
 */
@ObjectClassDefinition(id = BoardSettings.FACTORY_PID, name = "LabHAL GPIB board",
        description = "A Prologix-style GPIB controller (GPIB-USB or GPIB-ETHERNET) that serves the resources "
                + "GPIB<board>::<primary>[::<secondary>]::INSTR.")
@interface BoardConfiguration {

    @AttributeDefinition(name = "Board", required = false, min = "0", max = "99",
            description = "The board number N of the resources GPIBN::...; one configuration per number.")
    int board() default 0;

    @AttributeDefinition(name = "Controller",
            description = "The link to the controller as a resource string: ASRL/dev/ttyUSB0::INSTR?baud=115200 "
                    + "for a GPIB-USB (a virtual serial port), TCPIP::10.0.0.7::1234::SOCKET for a GPIB-ETHERNET.")
    String controller();

    @AttributeDefinition(name = "Controller read timeout (ms)", required = false, min = "1", max = "3000",
            description = "Sent as ++read_tmo_ms: how long the controller waits for each byte of an answer "
                    + "before it ends a ++read (1-3000).")
    int read__tmo__ms() default 500; // "__" is "_" in the property name: read_tmo_ms

    @AttributeDefinition(name = "Open timeout (ms)", required = false, min = "1",
            description = "How long opening the controller link and identifying the controller (++ver) may take "
                    + "at most, whatever the session's open timeout.")
    int open__timeout__ms() default 5000; // open_timeout_ms

    @AttributeDefinition(name = "Scan", required = false,
            description = "Whether instr:discover may scan this board's primary addresses 1-30 with a serial poll "
                    + "each (also allowed per search by gpibScan in org.labhal.discovery).")
    boolean scan() default false;
}
