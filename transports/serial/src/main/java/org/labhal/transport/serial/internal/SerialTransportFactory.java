package org.labhal.transport.serial.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.TransportFactory;
import org.labhal.transport.serial.NoSuchPortException;
import org.labhal.transport.serial.PortInUseException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;

import com.fazecast.jSerialComm.SerialPort;
import com.fazecast.jSerialComm.SerialPortInvalidPortException;

/**
 * The {@code ASRL} transport: opens serial ports through jSerialComm.
 *
 * <p>Where the port is: {@code ASRL/dev/ttyUSB0::INSTR} (any device path, symbolic links such as
 * {@code /dev/serial/by-id/...} included), {@code ASRLCOM3::INSTR} on Windows, and the VISA
 * numbering {@code ASRL<n>::INSTR}: {@code COM<n>} on Windows, {@code /dev/ttyS<n-1>} elsewhere.
 * Line settings and framing come from the resource's options, see {@link LineSettings}.
 *
 * <p>A port carries one connection at a time. Opening a port that another process has locked, or
 * that this transport already has open, throws {@link PortInUseException}; a path with no device
 * behind it throws {@link NoSuchPortException}. Deactivation closes every port this factory opened
 * and wakes the callers blocked on them.
 */
@Component(name = "org.labhal.transport.serial", service = TransportFactory.class,
        property = TransportFactory.KINDS_PROPERTY + "=SERIAL",
        configurationPolicy = ConfigurationPolicy.IGNORE) // resources carry the settings; nothing to configure
public final class SerialTransportFactory implements TransportFactory {
    /** How long deactivation waits for readers to leave the kernel and release their ports. */
    private static final Duration RELEASE_WAIT = Duration.ofSeconds(2);
    // jSerialComm's numbers for "already open in this process" and POSIX's errno values it passes on.
    private static final int ENOENT_OR_ALREADY_OPEN = 2;
    private static final int EPERM = 1;
    private static final int EACCES = 13;
    private static final int EAGAIN = 11;
    private static final int EBUSY = 16;
    private static final int WINDOWS_ACCESS_DENIED = 5;

    private final boolean windows;
    private final ScheduledThreadPoolExecutor watchdog;
    /** Open connections by the real path of their device. */
    private final Map<String, SerialConnection> open = new ConcurrentHashMap<>();
    /**
     * What each device's instrument owes or holds, by real path. Entries stay: a writer may record
     * a fragment after the watchdog released its port, and a lab has few devices.
     */
    private final Map<String, LineDebt> debts = new ConcurrentHashMap<>();
    private final Object opening = new Object();
    private volatile boolean deactivated;

    /** Activates the transport; nothing is opened until a session asks. */
    @Activate
    public SerialTransportFactory() {
        this.windows = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
        AtomicInteger threads = new AtomicInteger();
        this.watchdog = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "labhal-serial-write-watchdog-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        watchdog.setRemoveOnCancelPolicy(true); // one guard per write: cancelled ones must not pile up
    }

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.SERIAL);
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
        if (address.kind() != TransportKind.SERIAL) {
            throw new LabHalException("The serial transport cannot open " + address.canonical());
        }
        LineSettings settings = LineSettings.of(address, windows);
        String device = devicePath(address);
        long deadline = System.nanoTime() + Deadline.nanos(timeout); // huge timeouts saturate
        // One open at a time: jSerialComm reports open errors through one process-wide error number.
        SerialConnection connection;
        synchronized (opening) {
            if (deactivated) {
                throw new LabHalException("The serial transport has stopped; cannot open " + address.canonical());
            }
            String key = realPath(address, device);
            awaitRelease(address, device, key, deadline);
            SerialPort port;
            try {
                port = SerialPort.getCommPort(device);
            } catch (SerialPortInvalidPortException e) {
                throw new NoSuchPortException("Cannot open " + address.canonical() + ": no serial device at " + device,
                        device);
            } catch (LinkageError e) {
                throw new LabHalException("Cannot open " + address.canonical() + ": jSerialComm's native library "
                        + "does not load on this system (" + e + ")", e);
            }
            settings.applyTo(port, SerialConnection.SLICE_MILLIS);
            if (!port.openPort(0)) {
                throw openFailure(address, device, port.getLastErrorCode(), port.getLastErrorLocation());
            }
            LineDebt debt = debts.computeIfAbsent(key, k -> new LineDebt());
            connection = new SerialConnection(address, device, port, settings, watchdog, debt,
                    c -> open.remove(key, c));
            open.put(key, connection);
        }
        // Outside the monitor: a drain may take the whole timeout, and other devices need not wait
        try {
            connection.settle(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        } catch (LabHalException | RuntimeException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    /**
     * The device path for a resource: VISA's ASRL numbering is 1-based, as COM ports are; on POSIX
     * systems ASRL1 is the first on-board port, {@code /dev/ttyS0}.
     */
    String devicePath(ResourceAddress address) throws LabHalException {
        String port = address.serialPort().orElseThrow();
        if (port.chars().allMatch(Character::isDigit)) {
            int n = Integer.parseInt(port);
            if (n < 1) {
                throw new NoSuchPortException("Cannot open " + address.canonical()
                        + ": VISA numbers serial ports from ASRL1 (" + (windows ? "COM1" : "/dev/ttyS0") + ")", port);
            }
            return windows ? "COM" + n : "/dev/ttyS" + (n - 1);
        }
        return port;
    }

    /** The path that identifies the device however it is spelled (symbolic links resolved). */
    private String realPath(ResourceAddress address, String device) throws NoSuchPortException {
        if (windows && !device.contains("\\") && !device.contains("/")) {
            return device.toUpperCase(Locale.ROOT); // COMn: no file to look at
        }
        try {
            return Path.of(device).toRealPath().toString();
        } catch (IOException | RuntimeException e) {
            throw new NoSuchPortException("Cannot open " + address.canonical() + ": no serial device at " + device
                    + (Files.isSymbolicLink(Path.of(device)) ? " (a symbolic link to nothing)" : ""), device);
        }
    }

    /** A port that is closing is waited for; one that is open is in use. */
    private void awaitRelease(ResourceAddress address, String device, String key, long deadline)
            throws LabHalException {
        SerialConnection holder = open.get(key);
        if (holder == null) {
            return;
        }
        if (!holder.ended()) {
            throw new PortInUseException("Cannot open " + address.canonical() + ": " + device
                    + " is already open in this LabHAL, by " + holder.describe()
                    + "; a serial port carries one connection: share that session instead", device);
        }
        try {
            holder.released().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted opening " + address.canonical(), e);
        } catch (TimeoutException | ExecutionException e) {
            throw new PortInUseException("Cannot open " + address.canonical() + ": " + device
                    + " is still being closed by " + holder.describe(), device);
        }
    }

    private LabHalException openFailure(ResourceAddress address, String device, int errno, int location) {
        String prefix = "Cannot open " + address.canonical() + ": ";
        if (windows) {
            if (errno == WINDOWS_ACCESS_DENIED) {
                return new PortInUseException(prefix + device + " is in use by another program", device);
            }
            if (errno == ENOENT_OR_ALREADY_OPEN) {
                return new NoSuchPortException(prefix + "no serial device " + device, device);
            }
        } else {
            if (errno == EAGAIN || errno == EBUSY) {
                return new PortInUseException(prefix + device + " is in use by another process, which holds "
                        + "an exclusive lock on it (errno " + errno + ")", device);
            }
            if (errno == ENOENT_OR_ALREADY_OPEN) {
                // jSerialComm reports 2 both for ENOENT and for "this process has it open already".
                return Files.exists(Path.of(device))
                        ? new PortInUseException(prefix + device + " is already open elsewhere in this Java process",
                                device)
                        : new NoSuchPortException(prefix + "no serial device at " + device, device);
            }
            if (errno == EACCES || errno == EPERM) {
                return new LabHalException(prefix + "permission denied on " + device
                        + "; add the user to the group that owns it (often 'dialout')");
            }
        }
        return new LabHalException(prefix + "opening " + device + " failed with error " + errno
                + " (jSerialComm native line " + location + ")");
    }

    /** @return how many ports this factory holds open */
    int openPorts() {
        return open.size();
    }

    /**
     * Closes every port this transport opened: blocked writers wake at once, blocked readers within
     * one read slice, and their ports are released before this returns (bounded wait).
     */
    @Deactivate
    public void deactivate() {
        List<CompletableFuture<Void>> releases = new ArrayList<>();
        synchronized (opening) {
            deactivated = true;
        }
        for (SerialConnection connection : open.values()) {
            connection.close();
            releases.add(connection.released());
        }
        try {
            CompletableFuture.allOf(releases.toArray(CompletableFuture[]::new))
                    .get(RELEASE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // A reader stuck beyond its slice: its port is released when it leaves the kernel.
        } finally {
            watchdog.shutdownNow();
        }
    }
}
