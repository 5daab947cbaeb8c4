package org.labhal.faults;

import org.labhal.faults.Rig.Transport;

/**
 * The columns of the matrix: a fault on the wire, made by the {@link FaultProxy}, or an interrupt
 * ({@code Future.cancel(true)}) at a chosen point of a step. Each says which cells cannot exist and
 * why; the printed matrix shows that reason instead of a result.
 */
enum Injection {
    DELAY_ANSWER("delay", "the answer comes 3 timeouts late", true),
    STALL_ANSWER("stall", "the answer stops after 3 bytes", true),
    TRICKLE_ANSWER("trickle", "the answer comes one byte per 100 ms", true),
    FIN_ANSWER("fin", "the connection ends (FIN) after 3 bytes of the answer", true),
    RST_ANSWER("rst", "the connection is reset (RST) after 3 bytes of the answer", true),
    FLOOD_ANSWER("flood", "the instrument streams without end, no terminator, no frame", true),
    TRUNCATE_ANSWER("truncate", "the answer loses everything after its 3rd byte", true),
    CORRUPT_ANSWER("corrupt", "the answer's first byte is inverted", true),
    CUT_WRITE("cut-write", "a 16 MiB message stalls after 64 KiB, so its write times out part-way", true),
    RST_WRITE("rst-write", "the connection is reset after 64 KiB of a 16 MiB message", true),
    INT_LOCK_WAIT("i:lock-wait", "interrupt while waiting for the session lock", false),
    INT_BEFORE_WRITE("i:pre-write", "the interrupt flag is set inside a lease, before the step", false),
    INT_MID_WRITE("i:mid-write", "interrupt inside the transport's write, half the message sent", false),
    INT_MID_READ("i:mid-read", "interrupt inside the transport's read, part of the answer received", false),
    INT_CLEAR("i:clear", "interrupt inside the transport's device clear", false),
    INT_INSTR_ACQUIRE("i:ilock-get", "interrupt while the instrument lock is held by another client", false),
    INT_INSTR_RELEASE("i:ilock-put", "release the instrument lock with the interrupt flag set", false),
    INT_LOCKED_STEP("i:ilock-step", "interrupt mid-step where every step takes the instrument lock", false);

    /** The column's heading. */
    final String column;
    /** What the injection does, for the legend. */
    final String description;
    /** Whether the proxy makes it, so that it needs a wire. */
    final boolean wire;

    Injection(String column, String description, boolean wire) {
        this.column = column;
        this.description = description;
        this.wire = wire;
    }

    /** @return why the cell ({@code transport}, this) cannot exist, or null when it runs */
    String excludedFor(Transport transport) {
        if (wire && transport == Transport.USBTMC) {
            return "USBTMC's endpoints are in memory (SimulatedUsb488Device): there is no wire for the proxy to fault; "
                    + "its device faults (STALL on Bulk-OUT and Bulk-IN, a Bulk-OUT never taken, wrong bTag, garbage "
                    + "header, absurd TransferSize, short transfer, never answered, unplugged mid-answer, trickled "
                    + "answer) are tested in transports/usbtmc (UsbtmcFaultTest, UsbtmcInterruptTest)";
        }
        if (wire && !transport.wire) {
            return transport + " is in memory: there is no wire for the proxy to fault";
        }
        if (this == INT_CLEAR && transport == Transport.SIM) {
            return transport + "'s device clear completes in memory at once: there is no wait to interrupt";
        }
        if (this == INT_CLEAR && transport == Transport.USBTMC) {
            return "the simulated USB488 device answers INITIATE_CLEAR and CHECK_CLEAR_STATUS at once (never "
                    + "STATUS_PENDING, no knob to hold a control transfer), so a clear never waits: there is no wait "
                    + "to interrupt (the clear's one wait, its STATUS_PENDING poll, sleeps interruptibly)";
        }
        if (this == INT_MID_WRITE && transport == Transport.SIM) {
            return transport + " writes into memory and never blocks, so no step is ever mid-write";
        }
        if (transport == Transport.SERIAL && (this == FIN_ANSWER || this == RST_ANSWER || this == RST_WRITE)) {
            return "a serial line has no connection to cut: a cut at the relay ends socat and with it the pty, "
                    + "i.e. the adapter is unplugged (stall, truncate and the rest are the line faults)";
        }
        if ((this == INT_INSTR_ACQUIRE || this == INT_INSTR_RELEASE || this == INT_LOCKED_STEP)
                && !transport.instrumentLock) {
            return transport + " has no instrument-side lock";
        }
        return openDefect(transport);
    }

    /** Prefix of the reasons of cells that could hold but do not yet: shown as "open", never as a pass. */
    static final String OPEN = "OPEN DEFECT: ";

    /**
     * Cells that break a promise today and are not fixed yet, each with what breaks, so that the
     * matrix shows them instead of hiding them and the suite stays a gate for every other cell.
     * Listed in RELIABILITY.md; remove a line here when its fix lands.
     */
    private String openDefect(Transport transport) {
        return null;
    }
}
