package org.labhal.runtime.internal.shell;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.labhal.api.TransportKind;
import org.labhal.runtime.internal.discovery.Inbox;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The discovery commands of the {@code instr} scope: search ({@code discover}), look at what was found
 * ({@code inbox}), configure a find ({@code add}) or hide it ({@code ignore}). Searching sends nothing
 * to a serial port not opted in to probing, and network searches use only the configured interfaces
 * ({@value Inbox#PID}).
 */
@Component(service = DiscoveryCommands.class, immediate = true)
@GogoCommand(scope = "instr", function = { "discover", "inbox", "add", "ignore" })
public final class DiscoveryCommands {
    private final Inbox inbox;
    private final InstrumentCommands instruments;

    /**
     * @param inbox what discovery found
     * @param instruments configures what is added, as {@code instr:connect} does
     */
    @Activate
    public DiscoveryCommands(@Reference Inbox inbox, @Reference InstrumentCommands instruments) {
        this.inbox = inbox;
        this.instruments = instruments;
    }

    /**
     * @return the search's report and the inbox
     * @throws InterruptedException when interrupted
     */
    @Descriptor("look for instruments everywhere the installed transports can, for the configured time (5 s)")
    public String discover() throws InterruptedException {
        return discover("all", null);
    }

    /**
     * @param what all, lan, serial, usb, gpib or a transport kind
     * @return the search's report and the inbox
     * @throws InterruptedException when interrupted
     */
    @Descriptor("look for instruments of one kind: all, lan, serial, usb, gpib, or a transport kind such as HISLIP")
    public String discover(@Descriptor("all, lan, serial, usb, gpib or a transport kind") String what)
            throws InterruptedException {
        return discover(what, null);
    }

    /**
     * @param what all, lan, serial, usb, gpib or a transport kind
     * @param timeout how long the search may take, e.g. 5s
     * @return the search's report and the inbox
     * @throws InterruptedException when interrupted
     */
    @Descriptor("look for instruments of one kind for a given time, e.g. instr:discover lan 5s")
    public String discover(@Descriptor("all, lan, serial, usb, gpib or a transport kind") String what,
            @Descriptor("how long to search, e.g. 5s or 500ms") String timeout) throws InterruptedException {
        Set<TransportKind> kinds = Inbox.kinds(what);
        Duration time = timeout == null ? inbox.defaultTimeout() : ShellDurations.parse(timeout, "timeout");
        if (time.isZero() || time.isNegative()) {
            throw new IllegalArgumentException("timeout '" + timeout + "' must be positive");
        }
        Inbox.Search search = inbox.discover(kinds, time);
        StringBuilder out = new StringBuilder();
        if (search.outcomes().isEmpty()) {
            out.append("No installed transport can search for ").append(what).append(" (discoverers: ")
                    .append(inbox.discoverers().isEmpty() ? "none" : String.join(", ", inbox.discoverers()))
                    .append(")\n");
        }
        for (Inbox.Outcome outcome : search.outcomes()) {
            out.append(outcome.discoverer()).append(": ").append(outcome.failure()
                    .map(f -> "failed: " + f).orElse(outcome.found() + " found")).append('\n');
        }
        out.append(search.fresh()).append(" new in the inbox\n");
        return out + inbox();
    }

    /** @return the inbox as a table */
    @Descriptor("list what discovery found: resource, identity, the model and lock policy it would get")
    public String inbox() {
        List<Inbox.Entry> entries = inbox.inbox();
        if (entries.isEmpty()) {
            return "The inbox is empty: run instr:discover.";
        }
        Table table = new Table("N", "RESOURCE", "IDENTITY", "MODEL", "POLICY", "FOUND BY", "NOTE");
        for (Inbox.Entry e : entries) {
            String label = e.found().label().isEmpty() ? "" : "'" + e.found().label() + "' ";
            table.row(e.number(), e.found().address().canonical(), e.identity().orElse(null),
                    e.model().orElse(e.identity().isPresent() ? "(none matches)" : null), e.policy(),
                    e.found().source(), label + e.configuredAs().map(id -> "configured as " + id + "; ").orElse("")
                            + e.probe());
        }
        return table.toString();
    }

    /**
     * @param number an inbox entry
     * @param id the new instrument's id
     * @return the new instrument's summary once it is online
     * @throws IOException when the configuration cannot be stored
     * @throws InterruptedException when interrupted while waiting for it to connect
     */
    @Descriptor("configure an inbox entry as an instrument (as instr:connect does) and wait until it is online")
    public String add(@Descriptor("inbox entry number") int number, @Descriptor("new instrument id, e.g. dmm-2") String id)
            throws IOException, InterruptedException {
        Inbox.Entry entry = inbox.entry(number);
        if (entry.configuredAs().isPresent()) {
            throw new IllegalStateException("inbox entry " + number + " (" + entry.found().address()
                    + ") is configured already as " + entry.configuredAs().get());
        }
        String result = instruments.connect(id, entry.found().address().canonical());
        inbox.configured(number, id);
        return result;
    }

    /**
     * @param number an inbox entry
     * @return a confirmation
     */
    @Descriptor("hide an inbox entry from now on (until the runtime restarts)")
    public String ignore(@Descriptor("inbox entry number") int number) {
        Inbox.Entry entry = inbox.ignore(number);
        return "ignored " + number + ": " + entry.found().address().canonical();
    }
}
