package org.labhal.api;

/**
 * The wire protocol a {@link ResourceAddress} selects. Each kind is served by one transport bundle;
 * the accessors of {@link ResourceAddress} that apply to a kind are listed with each constant.
 */
public enum TransportKind {

    /**
     * Raw TCP socket carrying SCPI lines, from {@code TCPIP[board]::host::port::SOCKET}. Has a
     * {@link ResourceAddress#host() host} and a {@link ResourceAddress#port() port}; no LAN device.
     */
    SOCKET,

    /**
     * VXI-11 (ONC-RPC), from {@code TCPIP[board]::host[::instN]::INSTR} or a VXI-11 GPIB gateway
     * {@code TCPIP[board]::host::gpibB,N::INSTR}. Has a {@link ResourceAddress#host() host} and a
     * {@link ResourceAddress#lanDevice() LAN device} such as {@code inst0} or {@code gpib0,5}; the port
     * comes from the portmapper, so {@link ResourceAddress#port()} is empty.
     */
    VXI11,

    /**
     * HiSLIP (IVI-6.1), from {@code TCPIP[board]::host::hislipN[,port]::INSTR}. Has a
     * {@link ResourceAddress#host() host}, a {@link ResourceAddress#lanDevice() LAN device} such as
     * {@code hislip0} and a {@link ResourceAddress#port() port} (4880 unless given).
     */
    HISLIP,

    /**
     * Serial line (RS-232, USB CDC, pseudo-terminal), from {@code ASRL<n>::INSTR} or
     * {@code ASRL<device path>::INSTR}. Has a {@link ResourceAddress#serialPort() serial port}; line
     * settings come from the options {@code baud}, {@code data_bits}, {@code parity}, {@code stop_bits}
     * and {@code flow}.
     */
    SERIAL,

    /**
     * USB Test and Measurement Class with its USB488 subclass, from
     * {@code USB[board]::vendor::product::serial[::interface]::INSTR}. Has a {@link ResourceAddress#board()
     * board}, {@link ResourceAddress#usbVendorId() vendor} and {@link ResourceAddress#usbProductId() product}
     * ids, a {@link ResourceAddress#usbSerial() serial number} and, when written, an
     * {@link ResourceAddress#usbInterface() interface number}. Messages end with the EOM bit.
     *
     * @since 1.3
     */
    USBTMC,

    /**
     * A USB device's raw bulk pipes without the USBTMC headers, from
     * {@code USB[board]::vendor::product::serial[::interface]::RAW}; the same parts as {@link #USBTMC}. A byte
     * stream: messages end with a termination character.
     *
     * @since 1.3
     */
    USB_RAW,

    /**
     * An instrument on a GPIB (IEEE 488) bus, from {@code GPIB[board]::primary[::secondary]::INSTR}, reached
     * through the controller configured as that board (a Prologix-style GPIB-USB or GPIB-ETHERNET
     * controller). Has a {@link ResourceAddress#board() board}, a {@link ResourceAddress#gpibAddress()
     * primary address}, perhaps a {@link ResourceAddress#gpibSecondary() secondary address}, and a
     * {@link ResourceAddress#busKey() bus key}: every step takes the bus's lock too. A byte stream, since
     * such a controller does not pass the bus's END (EOI) on to the host.
     *
     * @since 1.3
     */
    GPIB,

    /**
     * Simulated instrument, from {@code SIM::<model>[::<n>]::INSTR}. Has a
     * {@link ResourceAddress#simModel() model} and an {@link ResourceAddress#simInstance() instance}
     * number; no hardware is touched.
     */
    SIM;

    /**
     * Whether the transport is a plain byte stream, on which a message ends only with a termination
     * character (raw socket, serial line), as opposed to one with an END indicator per message
     * (VXI-11, HiSLIP, the simulators). On a stream a termination byte can also occur inside binary
     * data, so block transfers must count bytes rather than trust message ends.
     *
     * @return true for {@link #SOCKET}, {@link #SERIAL}, {@link #USB_RAW} and {@link #GPIB}
     */
    public boolean isByteStream() {
        return this == SOCKET || this == SERIAL || this == USB_RAW || this == GPIB;
    }

    /**
     * Whether one resource of this kind is a single physical link that carries one connection at a
     * time (a serial line, a USB device's pipes that one client claims, a GPIB address on a controller's
     * bus): every session to it is multiplexed over that one connection and shares its lock, whatever the
     * model's policy says.
     *
     * @return true for {@link #SERIAL}, {@link #USBTMC}, {@link #USB_RAW} and {@link #GPIB}
     */
    public boolean isSingleLink() {
        return this == SERIAL || this == USBTMC || this == USB_RAW || this == GPIB;
    }
}
