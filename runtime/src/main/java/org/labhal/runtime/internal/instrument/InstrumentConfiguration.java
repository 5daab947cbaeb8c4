package org.labhal.runtime.internal.instrument;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * One configured instrument: a factory configuration of {@value InstrumentSettings#FACTORY_PID}, e.g. the
 * file {@code deploy/org.labhal.instrument-sim-smw.cfg}. This is the metatype description;
 * {@link InstrumentSettings#from} reads and checks the raw values so that a bad one gets a message
 * naming it (DS's own coercion would fail activation with a generic error instead).
 */
@ObjectClassDefinition(pid = InstrumentSettings.FACTORY_PID, name = "LabHAL instrument",
        description = "An instrument the runtime connects to, identifies by *IDN? and registers as an "
                + "org.labhal.api.instrument.Instrument service.")
@interface InstrumentConfiguration {

    @AttributeDefinition(name = "Id", required = false,
            description = "Short unique name used in the shell and the service property labhal.instrument.id: "
                    + "letters, digits, '.', '_' and '-'. Defaults to the configuration's name, e.g. sim-smw "
                    + "for org.labhal.instrument-sim-smw.cfg.")
    String id();

    @AttributeDefinition(name = "Resource",
            description = "VISA-style resource string, e.g. TCPIP::10.0.0.5::hislip0::INSTR or "
                    + "SIM::SMW200A::1::INSTR.")
    String resource();

    @AttributeDefinition(name = "Model", required = false,
            description = "Name of the instrument model to use instead of matching the *IDN? answer; the "
                    + "instrument waits until a model of that name is installed.")
    String model();

    @AttributeDefinition(name = "Lock policy", required = false,
            description = "Overrides the model's lock policy. Unknown models get SHARED_BUFFER.",
            options = { @Option(value = "INDEPENDENT_SESSIONS"), @Option(value = "SHARED_BUFFER"),
                    @Option(value = "SINGLE_CONNECTION") })
    String lockPolicy();

    @AttributeDefinition(name = "I/O timeout (ms)", required = false, type = AttributeType.LONG, min = "1",
            description = "Longest a single read or write may take. Default: the model's, else 5000.")
    long ioTimeout();

    @AttributeDefinition(name = "Lock timeout (ms)", required = false, type = AttributeType.LONG, min = "0",
            description = "Longest a step waits for the instrument's lock. Default 10000.")
    long lockTimeout();

    @AttributeDefinition(name = "Error checking", required = false, type = AttributeType.BOOLEAN,
            description = "Whether every write and query is followed by an error-queue check. Default: the "
                    + "model's, else false.")
    boolean errorChecking();

    @AttributeDefinition(name = "Instrument lock", required = false,
            description = "Whether every step also holds the instrument-side lock (VXI-11 device_lock, HiSLIP "
                    + "exclusive lock), keeping other processes and computers off the instrument during the step. "
                    + "auto (default): as the model says, where the transport has such a lock; true: always, "
                    + "and an instrument whose transport has none fails to connect; false: never.",
            options = { @Option(value = "auto"), @Option(value = "true"), @Option(value = "false") })
    String instrumentLock();

    @AttributeDefinition(name = "Driver wait (ms)", required = false, type = AttributeType.LONG, min = "1",
            description = "Longest a call on a driver type waits while no driver is bound (its bundle is "
                    + "being updated) before failing with DriverUnavailableException. Default 5000.")
    long driverWait();

    @AttributeDefinition(name = "Max answer size (bytes)", required = false, type = AttributeType.LONG, min = "1",
            description = "Most bytes one answer collected in memory may have (a text answer, a byte answer, an "
                    + "indefinite-length block); a longer one fails with AnswerTooLargeException naming the limit. "
                    + "Default: the session's, 16 MiB.")
    long maxAnswerSize();

    @AttributeDefinition(name = "Trace", required = false, type = AttributeType.BOOLEAN,
            description = "Whether the instrument's steps are traced (instr:trace, the dashboard's traffic view, "
                    + "the log at debug under org.labhal.trace.<id>). Unset leaves the switch as instr:trace left it; "
                    + "off when the runtime starts.")
    boolean trace();
}
