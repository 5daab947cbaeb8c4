package org.labhal.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A parsed VISA-style resource string: which {@link TransportKind transport} to use and where the
 * instrument is. Immutable and thread-safe; {@link #equals(Object)}, {@link #hashCode()} and
 * {@link #toString()} are those of the {@link #canonical() canonical form}.
 *
 * <h2>Accepted forms</h2>
 * Keywords ({@code TCPIP}, {@code ASRL}, {@code USB}, {@code GPIB}, {@code SIM}, {@code INSTR},
 * {@code SOCKET}, {@code RAW}, LAN device names, option keys) are case-insensitive; parts are separated by
 * {@code ::}; the board number after {@code TCPIP}, {@code USB} and {@code GPIB} is optional and defaults
 * to 0.
 * <table>
 * <caption>Resource forms</caption>
 * <tr><th>Form</th><th>Kind</th><th>Example</th></tr>
 * <tr><td>{@code TCPIP[board]::host::port::SOCKET}</td><td>{@link TransportKind#SOCKET SOCKET}</td>
 *     <td>{@code TCPIP::10.0.0.5::5025::SOCKET}</td></tr>
 * <tr><td>{@code TCPIP[board]::host[::instN]::INSTR}</td><td>{@link TransportKind#VXI11 VXI11}</td>
 *     <td>{@code TCPIP::10.0.0.5::INSTR}, {@code TCPIP0::scope.lab::inst1::INSTR}</td></tr>
 * <tr><td>{@code TCPIP[board]::host::gpibB,N::INSTR}</td><td>{@link TransportKind#VXI11 VXI11}</td>
 *     <td>{@code TCPIP::gw.lab::gpib0,5::INSTR} (GPIB primary address N 0-30 behind a VXI-11
 *     gateway)</td></tr>
 * <tr><td>{@code TCPIP[board]::host::hislipN[,port]::INSTR}</td><td>{@link TransportKind#HISLIP HISLIP}</td>
 *     <td>{@code TCPIP::[fe80::1%eth0]::hislip0::INSTR} (port 4880 unless given)</td></tr>
 * <tr><td>{@code ASRL<n>::INSTR}, {@code ASRL<device path>::INSTR}</td>
 *     <td>{@link TransportKind#SERIAL SERIAL}</td>
 *     <td>{@code ASRL1::INSTR}, {@code ASRL/dev/ttyUSB0::INSTR}, {@code ASRLCOM3::INSTR}</td></tr>
 * <tr><td>{@code USB[board]::vendor::product::serial[::interface]::INSTR}</td>
 *     <td>{@link TransportKind#USBTMC USBTMC}</td>
 *     <td>{@code USB::0x0957::0x1796::MY12345678::INSTR}, {@code USB0::2391::6038::MY12345678::0::INSTR}</td></tr>
 * <tr><td>{@code USB[board]::vendor::product::serial[::interface]::RAW}</td>
 *     <td>{@link TransportKind#USB_RAW USB_RAW}</td>
 *     <td>{@code USB::0x1AB1::0x0588::DS1ED141904883::RAW}</td></tr>
 * <tr><td>{@code GPIB[board]::primary[::secondary]::INSTR}</td><td>{@link TransportKind#GPIB GPIB}</td>
 *     <td>{@code GPIB::22::INSTR}, {@code GPIB1::5::3::INSTR} (addresses 0-30)</td></tr>
 * <tr><td>{@code SIM::<model>[::<n>]::INSTR}</td><td>{@link TransportKind#SIM SIM}</td>
 *     <td>{@code SIM::dmm34401::INSTR}, {@code SIM::psu::2::INSTR}</td></tr>
 * <tr><td>{@code SIM::REPLAY::<recording>[::<n>]::INSTR}</td><td>{@link TransportKind#SIM SIM}</td>
 *     <td>{@code SIM::REPLAY::bench-a::INSTR}: a simulator answering from a recorded trace</td></tr>
 * </table>
 *
 * <p>A <b>host</b> is an IPv4 dotted quad ({@code 10.0.0.5}, no leading zeros), an IPv6 literal in
 * brackets with an optional zone ({@code [2001:db8::1]}, {@code [fe80::1%eth0]}) or an RFC 1123 host
 * name ({@code scope-1.lab.example.com}). Parsing never performs a network or DNS lookup. An IPv6
 * address must be bracketed because its colons collide with the {@code ::} separator; an unbracketed one
 * is rejected with a message that says so, but note that {@code TCPIP::beef::1234::SOCKET} is a
 * valid host name plus port, so always bracket IPv6.
 *
 * <p>A USB <b>vendor</b> or <b>product</b> id is a number 0-65535 written in decimal or in hex with
 * {@code 0x} ({@code 0x0957} and {@code 2391} are one id); the canonical form writes {@code 0x} and four
 * upper-case hex digits, as VISA does. A USB <b>serial number</b> is 1-126 printable ASCII characters
 * without {@code :}, kept as written (serial numbers are case-sensitive). The USB <b>interface</b> number
 * (0-255) is kept only when written: without it the transport takes the device's first USBTMC interface.
 *
 * <p>A <b>model</b> is a word of letters, digits, {@code _} and {@code -}; it is case-insensitive and
 * normalised to upper case. A <b>serial port</b> is a decimal number or any device path without
 * whitespace or {@code ::}; a Windows name {@code COMn} is normalised to upper case, paths are kept as
 * written because Unix paths are case-sensitive.
 *
 * <h2>Options</h2>
 * An optional suffix {@code ?key=value&key=value} follows the resource, e.g.
 * {@code ASRL/dev/ttyUSB0::INSTR?baud=9600&parity=even} or
 * {@code TCPIP::10.0.0.5::5025::SOCKET?timeout_ms=2000}. Keys are letters, digits, {@code _}, {@code -}
 * and {@code .}, case-insensitive and stored in lower case in the order given; a key may appear once.
 * Values are non-empty and may not contain {@code =}, {@code ?} or {@code &}. For {@link TransportKind#SERIAL}
 * only these keys are accepted and their values are checked and normalised: {@code baud} (positive
 * integer), {@code data_bits} (5-8), {@code parity} ({@code none|odd|even|mark|space}), {@code stop_bits}
 * ({@code 1|1.5|2}), {@code flow} ({@code none|rtscts|xonxoff|dsrdtr}), {@code write_termination}
 * ({@code lf|crlf|cr|none}), {@code read_termination} ({@code lf|crlf|cr}), {@code drain_ms} (0-60000),
 * {@code late_ms} (0-600000).
 * Other kinds keep any option verbatim for their transport to interpret.
 *
 * <h2>Kind-specific accessors</h2>
 * Accessors for parts that only some kinds have return an empty {@link Optional}/{@link OptionalInt}
 * for the other kinds; they never throw and never return {@code null}. The applicable accessors are
 * listed on each {@link TransportKind} constant.
 *
 * <h2>Domain key</h2>
 * {@link #domainKey()} names the physical instrument the address reaches, so that sessions through
 * different protocols share one {@link org.labhal.api.lock.SessionLock lock domain}.
 */
public final class ResourceAddress {

    private final TransportKind kind;
    // Internally -1 / null mean "not applicable to this kind"; the accessors turn them into empty Optionals.
    private final int board;
    private final String host;
    private final int port;
    private final String lanDevice;
    private final int gpibAddress;
    private final int gpibSecondary;
    private final int usbVendorId;
    private final int usbProductId;
    private final String usbSerial;
    private final int usbInterface;
    private final String busKey;
    private final String serialPort;
    private final String simModel;
    private final int simInstance;
    private final String simRecording;
    private final Map<String, String> options;
    private final String canonical;
    private final String domainKey;

    private ResourceAddress(Fields f) {
        this.kind = f.kind;
        this.board = f.board;
        this.host = f.host;
        this.port = f.port;
        this.lanDevice = f.lanDevice;
        this.gpibAddress = f.gpibAddress;
        this.gpibSecondary = f.gpibSecondary;
        this.usbVendorId = f.usbVendorId;
        this.usbProductId = f.usbProductId;
        this.usbSerial = f.usbSerial;
        this.usbInterface = f.usbInterface;
        this.serialPort = f.serialPort;
        this.simModel = f.simModel;
        this.simInstance = f.simInstance;
        this.simRecording = f.simRecording;
        this.options = Collections.unmodifiableMap(new LinkedHashMap<>(f.options));
        String base;
        String bus = null;
        switch (kind) {
            case SOCKET -> {
                base = "TCPIP" + board + "::" + host + "::" + port + "::SOCKET";
                domainKey = "TCPIP::" + host;
            }
            case VXI11, HISLIP -> {
                // The default HiSLIP port is left out, as VISA writes it, so both spellings are equal.
                String device = kind == TransportKind.HISLIP && port != Parser.HISLIP_PORT
                        ? lanDevice + "," + port : lanDevice;
                base = "TCPIP" + board + "::" + host + "::" + device + "::INSTR";
                // A gateway multiplexes many GPIB instruments, each one its own domain.
                domainKey = gpibAddress >= 0 ? "TCPIP::" + host + "::" + lanDevice : "TCPIP::" + host;
                if (gpibAddress >= 0) {
                    bus = "TCPIP::" + host + "::" + lanDevice.substring(0, lanDevice.indexOf(','));
                }
            }
            case USBTMC, USB_RAW -> {
                String device = "0x" + Parser.hex4(usbVendorId) + "::0x" + Parser.hex4(usbProductId) + "::" + usbSerial;
                base = "USB" + board + "::" + device + (usbInterface < 0 ? "" : "::" + usbInterface)
                        + (kind == TransportKind.USBTMC ? "::INSTR" : "::RAW");
                domainKey = "USB::" + device;
            }
            case GPIB -> {
                String device = "GPIB" + board + "::" + gpibAddress;
                base = device + (gpibSecondary < 0 ? "" : "::" + gpibSecondary) + "::INSTR";
                // One instrument answers on all its secondary addresses (modules of one mainframe).
                domainKey = device;
                bus = "GPIB" + board;
            }
            case SERIAL -> {
                base = "ASRL" + serialPort + "::INSTR";
                domainKey = "ASRL::" + serialPort;
            }
            case SIM -> {
                String device = "SIM::" + simModel + (simRecording == null ? "" : "::" + simRecording) + "::"
                        + simInstance;
                base = device + "::INSTR";
                domainKey = device;
            }
            default -> throw new AssertionError(kind);
        }
        this.busKey = bus;
        this.canonical = options.isEmpty() ? base : base + "?" + options.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining("&"));
    }

    /**
     * Parses a resource string. Pure and side-effect free: no network, DNS or device access.
     *
     * <p>Examples: {@code TCPIP::10.0.0.5::5025::SOCKET}, {@code tcpip1::scope.lab::INSTR},
     * {@code TCPIP::[2001:db8::5]::hislip0::INSTR}, {@code TCPIP::gw.lab::gpib0,5::INSTR},
     * {@code ASRL/dev/ttyUSB0::INSTR?baud=115200}, {@code SIM::dmm::INSTR}. The input is not trimmed:
     * whitespace anywhere is an error.
     *
     * @param resource the resource string, see the class description for the grammar
     * @return the address, never {@code null}
     * @throws InvalidResourceException if the string is empty, blank or malformed; the exception names the
     *         offending part and its position
     * @throws NullPointerException if {@code resource} is {@code null}
     */
    public static ResourceAddress parse(String resource) {
        Objects.requireNonNull(resource, "resource");
        return new ResourceAddress(new Parser(resource).parse());
    }

    /**
     * Returns the transport this address selects.
     *
     * @return the kind, never {@code null}
     */
    public TransportKind kind() {
        return kind;
    }

    /**
     * Returns the VISA board number of a {@code TCPIP}, {@code USB} or {@code GPIB} address
     * ({@code TCPIP3} gives 3, plain {@code GPIB} gives 0). For {@code GPIB} the board is the bus, so it
     * takes part in the {@link #domainKey() domain key}; for the other kinds it does not.
     *
     * @return the board for {@code SOCKET}, {@code VXI11}, {@code HISLIP}, {@code USBTMC}, {@code USB_RAW}
     *         and {@code GPIB}; empty for other kinds
     */
    public OptionalInt board() {
        return board < 0 ? OptionalInt.empty() : OptionalInt.of(board);
    }

    /**
     * Returns the host in canonical text: an IPv4 dotted quad, a bracketed IPv6 literal in RFC 5952 form
     * ({@code [2001:db8::1]}, zone kept as written) or a lower-case host name. Host names are not
     * resolved.
     *
     * @return the host for {@code SOCKET}, {@code VXI11} and {@code HISLIP}; empty for other kinds
     */
    public Optional<String> host() {
        return Optional.ofNullable(host);
    }

    /**
     * Returns the TCP port to connect to.
     *
     * @return the port (1-65535) for {@code SOCKET} and {@code HISLIP} (4880 unless given); empty for
     *         {@code VXI11}, whose port comes from the portmapper, and for other kinds
     */
    public OptionalInt port() {
        return port < 0 ? OptionalInt.empty() : OptionalInt.of(port);
    }

    /**
     * Returns the LAN device name in lower case, as sent to the instrument: {@code instN},
     * {@code hislipN} (without the port, see {@link #port()}) or {@code gpibB,N}.
     *
     * @return the device for {@code VXI11} ({@code inst0} unless given) and {@code HISLIP}; empty for
     *         other kinds
     */
    public Optional<String> lanDevice() {
        return Optional.ofNullable(lanDevice);
    }

    /**
     * Returns the GPIB primary address: of a {@code GPIB} address ({@code GPIB0::22::INSTR} gives 22) or
     * of an instrument behind a VXI-11 GPIB gateway ({@code gpib0,5} gives 5).
     *
     * @return the address (0-30) for {@code GPIB} and for {@code VXI11} addresses with a {@code gpibB,N}
     *         device; empty otherwise
     */
    public OptionalInt gpibAddress() {
        return gpibAddress < 0 ? OptionalInt.empty() : OptionalInt.of(gpibAddress);
    }

    /**
     * Returns the GPIB secondary address as written in the resource ({@code GPIB0::22::3::INSTR} gives
     * 3); on the bus it is sent as 96 + 3.
     *
     * @return the secondary address (0-30) for {@code GPIB} addresses that give one; empty otherwise
     * @since 1.3
     */
    public OptionalInt gpibSecondary() {
        return gpibSecondary < 0 ? OptionalInt.empty() : OptionalInt.of(gpibSecondary);
    }

    /**
     * Returns the key of the bus this instrument shares with others, where one talker at a time and
     * addressing held by a controller make every step an operation on the whole bus: {@code GPIB0} for
     * {@code GPIB0::22::INSTR}, {@code TCPIP::gw.lab::gpib0} for {@code TCPIP::gw.lab::gpib0,5::INSTR}.
     * Sessions take a lock named by it around every step, after their own lock, so that addressing, the
     * message and its answer are one operation on the bus.
     *
     * @return the bus key for {@code GPIB} addresses and VXI-11 GPIB gateway addresses; empty otherwise
     * @since 1.3
     */
    public Optional<String> busKey() {
        return Optional.ofNullable(busKey);
    }

    /**
     * Returns the USB vendor (manufacturer) id, {@code 0x0957} for Keysight.
     *
     * @return the id (0-65535) for {@code USBTMC} and {@code USB_RAW}; empty for other kinds
     * @since 1.3
     */
    public OptionalInt usbVendorId() {
        return usbVendorId < 0 ? OptionalInt.empty() : OptionalInt.of(usbVendorId);
    }

    /**
     * Returns the USB product (model) id.
     *
     * @return the id (0-65535) for {@code USBTMC} and {@code USB_RAW}; empty for other kinds
     * @since 1.3
     */
    public OptionalInt usbProductId() {
        return usbProductId < 0 ? OptionalInt.empty() : OptionalInt.of(usbProductId);
    }

    /**
     * Returns the USB serial number as written (case-sensitive).
     *
     * @return the serial number for {@code USBTMC} and {@code USB_RAW}; empty for other kinds
     * @since 1.3
     */
    public Optional<String> usbSerial() {
        return Optional.ofNullable(usbSerial);
    }

    /**
     * Returns the USB interface number, when the resource gives one.
     *
     * @return the interface (0-255) for {@code USBTMC} and {@code USB_RAW} addresses that give one; empty
     *         otherwise, in which case the transport uses the device's first matching interface
     * @since 1.3
     */
    public OptionalInt usbInterface() {
        return usbInterface < 0 ? OptionalInt.empty() : OptionalInt.of(usbInterface);
    }

    /**
     * Returns the serial port as written after {@code ASRL}: a decimal number without leading zeros
     * ({@code "1"}), a device path kept as written ({@code "/dev/ttyUSB0"}) or an upper-case Windows name
     * ({@code "COM3"}).
     *
     * @return the port for {@code SERIAL}; empty for other kinds
     */
    public Optional<String> serialPort() {
        return Optional.ofNullable(serialPort);
    }

    /**
     * Returns the simulated model name in upper case ({@code SIM::dmm34401::INSTR} gives
     * {@code DMM34401}).
     *
     * @return the model for {@code SIM}; empty for other kinds
     */
    public Optional<String> simModel() {
        return Optional.ofNullable(simModel);
    }

    /**
     * Returns the simulated instance number, which tells apart several simulated instruments of one
     * model.
     *
     * @return the instance (0 unless given) for {@code SIM}; empty for other kinds
     */
    public OptionalInt simInstance() {
        return simInstance < 0 ? OptionalInt.empty() : OptionalInt.of(simInstance);
    }

    /**
     * Returns the recording a replaying simulator answers from: {@code SIM::REPLAY::bench-a::INSTR} gives
     * {@code bench-a} (as written; recording names are file names, so case is kept).
     *
     * @return the recording's name for {@code SIM::REPLAY::<name>[::<n>]::INSTR}; empty otherwise
     * @since 1.4
     */
    public Optional<String> simRecording() {
        return Optional.ofNullable(simRecording);
    }

    /**
     * Returns the options given after {@code ?}, keys in lower case, in the order written. Serial values
     * are normalised ({@code parity=EVEN} gives {@code even}, {@code baud=09600} gives {@code 9600});
     * other values are kept verbatim.
     *
     * @return an unmodifiable map, empty when no options were given
     */
    public Map<String, String> options() {
        return options;
    }

    /**
     * Returns one option.
     *
     * @param key the key, case-insensitive
     * @return the value, or empty when the option was not given
     * @throws NullPointerException if {@code key} is {@code null}
     */
    public Optional<String> option(String key) {
        return Optional.ofNullable(options.get(key.toLowerCase(Locale.ROOT)));
    }

    /**
     * Returns the normalised resource string: upper-case keywords, explicit board number and defaults,
     * canonical host text, lower-case LAN device, options appended in the order given. For example
     * {@code tcpip::DMM.lab::INSTR} gives {@code TCPIP0::dmm.lab::inst0::INSTR} and
     * {@code sim::psu::instr} gives {@code SIM::PSU::0::INSTR}. A HiSLIP port is written only when it is
     * not 4880. Parsing the canonical form yields an equal address.
     *
     * @return the canonical form, never {@code null}
     */
    public String canonical() {
        return canonical;
    }

    /**
     * Returns the key of the physical instrument this address reaches, used to share session locks.
     * Options are ignored, and so is the board number except for {@code GPIB}.
     * <ul>
     * <li>Every {@code TCPIP} form: the host only, {@code TCPIP::10.0.0.5}, {@code TCPIP::[2001:db8::1]},
     * {@code TCPIP::scope.lab}, because socket, VXI-11 and HiSLIP connections to one host reach one
     * instrument.</li>
     * <li>GPIB behind a VXI-11 gateway: gateway plus device, {@code TCPIP::gw.lab::gpib0,5}, because each
     * GPIB address is a different instrument (and differs from the gateway's own {@code inst0}).</li>
     * <li>Serial: {@code ASRL::/dev/ttyUSB0}, {@code ASRL::1}.</li>
     * <li>USB: the device, {@code USB::0x0957::0x1796::MY12345678}, whatever its interface and whether
     * {@code INSTR} or {@code RAW}.</li>
     * <li>GPIB: board plus primary address, {@code GPIB0::22}: the board is the bus, and the secondary
     * addresses of one primary are parts of one instrument. The bus itself is {@link #busKey()}.</li>
     * <li>Simulated: {@code SIM::DMM34401::0}.</li>
     * </ul>
     * Keys are compared as text and nothing is resolved: a host name and its IP address, two names of one
     * host, an IPv4 address and its IPv4-mapped IPv6 form, or two device paths that are symlinks to one
     * device all give <em>different</em> keys. Configure each instrument with one spelling.
     *
     * @return the domain key, never {@code null}
     */
    public String domainKey() {
        return domainKey;
    }

    /**
     * Two addresses are equal when their {@link #canonical() canonical forms} are equal, so spelling
     * differences that normalise away (case, defaults, IPv6 notation) do not matter, while options and
     * their order do.
     */
    @Override
    public boolean equals(Object o) {
        return this == o || o instanceof ResourceAddress other && canonical.equals(other.canonical);
    }

    /** Returns the hash code of the {@link #canonical() canonical form}. */
    @Override
    public int hashCode() {
        return canonical.hashCode();
    }

    /** Returns the {@link #canonical() canonical form}. */
    @Override
    public String toString() {
        return canonical;
    }

    /** Parsed parts on their way to the immutable address. */
    private static final class Fields {
        TransportKind kind;
        int board = -1;
        String host;
        int port = -1;
        String lanDevice;
        int gpibAddress = -1;
        int gpibSecondary = -1;
        int usbVendorId = -1;
        int usbProductId = -1;
        String usbSerial;
        int usbInterface = -1;
        String serialPort;
        String simModel;
        int simInstance = -1;
        String simRecording;
        Map<String, String> options = Map.of();
    }

    /** A {@code ::}-separated part and where it starts in the input. */
    private record Token(String text, int start) {
        int end() {
            return start + text.length();
        }
    }

    /**
     * One parse of one input. Left-to-right, so the first error reported is the leftmost one a reader
     * would notice.
     */
    private static final class Parser {

        static final int HISLIP_PORT = 4880;
        private static final int MAX_GPIB_ADDRESS = 30;

        private static final String KEYWORDS = "TCPIP[board], ASRL<port>, USB[board], GPIB[board], SIM";
        private static final String SOCKET_FORM = "TCPIP[board]::host::port::SOCKET";
        private static final String INSTR_FORM = "TCPIP[board]::host[::lanDevice]::INSTR";
        private static final String SERIAL_FORM = "ASRL<port>::INSTR";
        private static final String SIM_FORM = "SIM::<model>[::<n>]::INSTR";
        private static final String REPLAY = "REPLAY";
        private static final String REPLAY_FORM = "SIM::REPLAY::<recording>[::<n>]::INSTR";
        private static final Pattern RECORDING = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}");
        private static final String USB_FORM = "USB[board]::vendor::product::serial[::interface]::INSTR (or ::RAW)";
        private static final String GPIB_FORM = "GPIB[board]::primary[::secondary]::INSTR";
        private static final int MAX_USB_SERIAL = 126;
        private static final int MAX_USB_INTERFACE = 255;
        private static final String HOST_FORMS = "an IPv4 address, a bracketed IPv6 address or a host name";
        private static final String LAN_DEVICES = "instN, hislipN[,port] or gpibB,N (e.g. inst0, hislip0, gpib0,5)";

        private static final Pattern LAN_DEVICE = Pattern.compile("(inst|hislip|gpib)(\\d+)(?:,(.*))?",
                Pattern.CASE_INSENSITIVE);
        // Tells a mistyped LAN device apart from the tail of an unbracketed IPv6 address.
        private static final Pattern LAN_DEVICE_LIKE = Pattern.compile("(inst|hislip|gpib)\\d.*",
                Pattern.CASE_INSENSITIVE);
        private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
        private static final Pattern MODEL = Pattern.compile("[A-Za-z0-9_-]+");
        private static final Pattern WINDOWS_COM = Pattern.compile("COM\\d+", Pattern.CASE_INSENSITIVE);
        private static final Pattern OPTION_KEY = Pattern.compile("[A-Za-z0-9_.-]+");
        private static final Pattern ZONE = Pattern.compile("[A-Za-z0-9_.-]+");

        private static final Set<String> SERIAL_OPTIONS = Set.of("baud", "data_bits", "parity", "stop_bits", "flow",
                "write_termination", "read_termination", "drain_ms", "late_ms");
        private static final String SERIAL_OPTION_LIST =
                "baud, data_bits, parity, stop_bits, flow, write_termination, read_termination, drain_ms, late_ms";
        private static final List<String> PARITIES = List.of("none", "odd", "even", "mark", "space");
        private static final List<String> STOP_BITS = List.of("1", "1.5", "2");
        private static final List<String> FLOWS = List.of("none", "rtscts", "xonxoff", "dsrdtr");
        private static final List<String> WRITE_TERMINATIONS = List.of("lf", "crlf", "cr", "none");
        private static final List<String> READ_TERMINATIONS = List.of("lf", "crlf", "cr");
        private static final int MAX_DRAIN_MS = 60_000;
        private static final int MAX_LATE_MS = 600_000;

        private final String input;
        private final Fields f = new Fields();

        Parser(String input) {
            this.input = input;
        }

        Fields parse() {
            rejectBlankAndWhitespace();
            int query = input.indexOf('?');
            int end = query < 0 ? input.length() : query;
            List<Token> tokens = tokenize(end);
            Token keyword = tokens.get(0);
            String upper = keyword.text().toUpperCase(Locale.ROOT);
            if (upper.startsWith("TCPIP")) {
                tcpip(tokens, end);
            } else if (upper.startsWith("ASRL")) {
                serial(tokens, end);
            } else if (upper.startsWith("USB")) {
                usb(tokens, end);
            } else if (upper.startsWith("GPIB")) {
                gpib(tokens, end);
            } else if (upper.equals("SIM")) {
                sim(tokens, end);
            } else if (keyword.text().isEmpty()) {
                throw fail(0, "", "interface keyword", "is missing; expected one of " + KEYWORDS);
            } else {
                throw fail(keyword, "interface keyword", "is unknown; expected one of " + KEYWORDS);
            }
            if (query >= 0) {
                options(query + 1);
            }
            return f;
        }

        private void rejectBlankAndWhitespace() {
            if (input.isEmpty()) {
                throw fail(0, "", "resource", "is empty; expected e.g. TCPIP::10.0.0.5::INSTR");
            }
            if (input.isBlank()) {
                throw fail(0, input, "resource", "is blank; expected e.g. TCPIP::10.0.0.5::INSTR");
            }
            // Checked up front so that a stray space from a config file is named as such rather than
            // surfacing as a puzzling "bad host" or "bad port".
            for (int i = 0; i < input.length(); i++) {
                char c = input.charAt(i);
                if (Character.isWhitespace(c) || Character.isSpaceChar(c) || Character.isISOControl(c)) {
                    throw fail(i, String.valueOf(c), "character",
                            "is not allowed; a resource string contains no whitespace or control characters");
                }
            }
        }

        /**
         * Splits the resource part at {@code ::}, keeping a bracketed IPv6 literal whole because its own
         * {@code ::} is not a separator.
         */
        private List<Token> tokenize(int end) {
            List<Token> tokens = new ArrayList<>();
            int start = 0;
            while (true) {
                int scanFrom = start;
                if (!tokens.isEmpty() && start < end && input.charAt(start) == '[') {
                    int close = input.indexOf(']', start);
                    if (close < 0 || close >= end) {
                        throw fail(start, input.substring(start, end), "host",
                                "has no closing \"]\"; write an IPv6 address as [address]");
                    }
                    scanFrom = close + 1;
                }
                int separator = input.indexOf("::", scanFrom);
                if (separator < 0 || separator >= end) {
                    tokens.add(new Token(input.substring(start, end), start));
                    return tokens;
                }
                tokens.add(new Token(input.substring(start, separator), start));
                start = separator + 2;
            }
        }

        /**
         * Finds the resource class, which must be the last part, and reports anything after it.
         *
         * @param firstCandidate the first index where a keyword INSTR or SOCKET cannot be anything but
         *        the resource class (index 1 is a host or model for TCPIP and SIM and may be spelled so)
         * @return the index of the resource class token
         */
        private int resourceClass(List<Token> tokens, int end, int firstCandidate) {
            int last = tokens.size() - 1;
            for (int i = firstCandidate; i < last; i++) {
                Token t = tokens.get(i);
                if (isResourceClass(t.text())) {
                    throw fail(t.end(), input.substring(t.end(), end), "trailing text",
                            "is not allowed after the resource class " + t.text().toUpperCase(Locale.ROOT));
                }
            }
            if (last >= 1 && isResourceClass(tokens.get(last).text())) {
                return last;
            }
            if (last >= 1) {
                Token t = tokens.get(last);
                for (String name : List.of("INSTR", "SOCKET", "RAW")) {
                    if (t.text().regionMatches(true, 0, name, 0, name.length())) {
                        int from = t.start() + name.length();
                        throw fail(from, input.substring(from, end), "trailing text",
                                "is not allowed after the resource class " + name);
                    }
                }
            }
            throw fail(end, "", "resource class",
                    "is missing; expected \"::INSTR\", \"::SOCKET\" or \"::RAW\" at the end");
        }

        private static boolean isResourceClass(String text) {
            return text.equalsIgnoreCase("INSTR") || text.equalsIgnoreCase("SOCKET") || text.equalsIgnoreCase("RAW");
        }

        private void requireInstr(Token resourceClass, String form) {
            if (!resourceClass.text().equalsIgnoreCase("INSTR")) {
                throw fail(resourceClass, "resource class", "is not supported here; expected " + form);
            }
        }

        private void tcpip(List<Token> tokens, int end) {
            Token keyword = tokens.get(0);
            String boardText = keyword.text().substring("TCPIP".length());
            if (boardText.isEmpty()) {
                f.board = 0;
            } else {
                f.board = decimal(boardText);
                if (f.board < 0) {
                    throw fail(keyword.start() + "TCPIP".length(), boardText, "board number",
                            "must be a decimal number 0-" + Integer.MAX_VALUE + ", e.g. TCPIP0");
                }
            }
            int classIndex = resourceClass(tokens, end, 2);
            Token resourceClass = tokens.get(classIndex);
            boolean socket = resourceClass.text().equalsIgnoreCase("SOCKET");
            String form = socket ? SOCKET_FORM : INSTR_FORM;
            if (resourceClass.text().equalsIgnoreCase("RAW")) {
                throw fail(resourceClass, "resource class", "is not supported here; expected " + INSTR_FORM
                        + " or " + SOCKET_FORM);
            }
            List<Token> middle = tokens.subList(1, classIndex);
            if (middle.isEmpty()) {
                throw fail(resourceClass.start(), "", "host", "is missing; expected " + form);
            }
            rejectBareIpv6(middle, socket);
            Token hostToken = middle.get(0);
            f.host = host(hostToken);
            if (middle.size() > 2) {
                throw fail(middle.get(2), "part", "is unexpected; expected " + form);
            }
            if (socket) {
                if (middle.size() < 2) {
                    throw fail(resourceClass.start(), "", "port", "is missing; expected " + SOCKET_FORM);
                }
                f.kind = TransportKind.SOCKET;
                f.port = port(middle.get(1).text(), middle.get(1).start());
            } else if (middle.size() == 2) {
                lanDevice(middle.get(1));
            } else {
                f.kind = TransportKind.VXI11;
                f.lanDevice = "inst0";
            }
        }

        /**
         * An unbracketed IPv6 address is split at its own {@code ::}, which would otherwise surface as a
         * confusing error about a later part. Only when the parts do not already fit the form is the IPv6
         * reading chosen, since {@code beef::1234} is also a valid host name and port.
         */
        private void rejectBareIpv6(List<Token> middle, boolean socket) {
            String first = middle.get(0).text();
            boolean misfit = first.isEmpty() || first.indexOf(':') >= 0 || middle.size() > 2
                    || !socket && middle.size() == 2 && !LAN_DEVICE_LIKE.matcher(middle.get(1).text()).matches();
            if (!misfit) {
                return;
            }
            for (int n = middle.size(); n >= 1; n--) {
                Token candidate = new Token(input.substring(middle.get(0).start(), middle.get(n - 1).end()),
                        middle.get(0).start());
                if ((n > 1 || first.indexOf(':') >= 0) && Ipv6.canonical(candidate.text()) != null) {
                    String port = middle.size() == 2 ? middle.get(1).text() : "";
                    String socketHint = !socket && decimal(port) >= 1 && decimal(port) <= 65535
                            ? "; or, if " + port + " is a port, TCPIP::" + first + "::" + port + "::SOCKET" : "";
                    throw fail(candidate, "host", "looks like an IPv6 address without brackets; write it as ["
                            + candidate.text() + "]" + socketHint);
                }
            }
        }

        private String host(Token t) {
            String h = t.text();
            int p = t.start();
            if (h.isEmpty()) {
                throw fail(p, "", "host", "is missing; expected " + HOST_FORMS);
            }
            if (h.charAt(0) == '[') {
                int close = h.indexOf(']');
                if (close != h.length() - 1) {
                    throw fail(p + close + 1, h.substring(close + 1), "text",
                            "after the IPv6 address is not allowed; a port goes in its own part, e.g. "
                                    + "TCPIP::[fe80::1]::5025::SOCKET");
                }
                String canonical = Ipv6.canonical(h.substring(1, close));
                if (canonical == null) {
                    throw fail(t, "IPv6 address", "is not a valid IPv6 literal, e.g. [2001:db8::1] or [fe80::1%eth0]");
                }
                return "[" + canonical + "]";
            }
            int colon = h.indexOf(':');
            if (colon >= 0) {
                String after = h.substring(colon + 1);
                if (decimal(after) >= 0) {
                    throw fail(t, "host", "must not contain a port; write TCPIP::" + h.substring(0, colon)
                            + "::" + after + "::SOCKET");
                }
                throw fail(t, "host", "must not contain \":\"; expected " + HOST_FORMS);
            }
            // RFC 1123 2.1: a name never looks like a dotted quad, so digits and dots mean an IPv4 attempt.
            if (h.chars().allMatch(c -> c == '.' || c >= '0' && c <= '9')) {
                return ipv4(t);
            }
            return hostName(t);
        }

        private String ipv4(Token t) {
            String[] octets = t.text().split("\\.", -1);
            if (octets.length != 4) {
                throw fail(t, "IPv4 address", "must have four octets, e.g. 10.0.0.5");
            }
            int p = t.start();
            for (String octet : octets) {
                // Leading zeros are refused because some stacks read them as octal.
                if (Ipv6.octet(octet) < 0) {
                    throw fail(p, octet, "IPv4 octet", "must be 0-255 without leading zeros");
                }
                p += octet.length() + 1;
            }
            return t.text();
        }

        private String hostName(Token t) {
            String h = t.text();
            if (h.length() > 253) {
                throw fail(t, "host name", "must be at most 253 characters");
            }
            int p = t.start();
            for (String label : h.split("\\.", -1)) {
                if (!LABEL.matcher(label).matches()) {
                    throw fail(p, label, "host name label",
                            "must be 1-63 letters, digits or hyphens, not starting or ending with a hyphen");
                }
                p += label.length() + 1;
            }
            return h.toLowerCase(Locale.ROOT);
        }

        private int port(String text, int position) {
            int port = decimal(text);
            if (port < 1 || port > 65535) {
                throw fail(position, text, "port", "must be 1-65535");
            }
            return port;
        }

        private void lanDevice(Token t) {
            Matcher m = LAN_DEVICE.matcher(t.text());
            int number = m.matches() ? decimal(m.group(2)) : -1;
            if (number < 0) {
                throw fail(t, "LAN device name", "must be " + LAN_DEVICES);
            }
            String name = m.group(1).toLowerCase(Locale.ROOT);
            String argument = m.group(3);
            int argumentStart = t.start() + m.end(2) + 1;
            switch (name) {
                case "inst" -> {
                    if (argument != null) {
                        throw fail(t, "LAN device name", "must be " + LAN_DEVICES);
                    }
                    f.kind = TransportKind.VXI11;
                    f.lanDevice = name + number;
                }
                case "hislip" -> {
                    f.kind = TransportKind.HISLIP;
                    f.lanDevice = name + number;
                    f.port = argument == null ? HISLIP_PORT : port(argument, argumentStart);
                }
                case "gpib" -> {
                    if (argument == null || argument.isEmpty()) {
                        int at = argument == null ? t.end() : argumentStart;
                        throw fail(at, "", "GPIB address", "is missing; expected gpib" + number + ",N with N 0-"
                                + MAX_GPIB_ADDRESS);
                    }
                    int address = decimal(argument);
                    if (address < 0 || address > MAX_GPIB_ADDRESS) {
                        throw fail(argumentStart, argument, "GPIB address", "must be 0-" + MAX_GPIB_ADDRESS);
                    }
                    f.kind = TransportKind.VXI11;
                    f.lanDevice = name + number + "," + address;
                    f.gpibAddress = address;
                }
                default -> throw new AssertionError(name);
            }
        }

        /** The board number written right after an interface keyword; 0 when none is written. */
        private int board(Token keyword, String name) {
            String text = keyword.text().substring(name.length());
            if (text.isEmpty()) {
                return 0;
            }
            int board = decimal(text);
            if (board < 0) {
                throw fail(keyword.start() + name.length(), text, "board number",
                        "must be a decimal number 0-" + Integer.MAX_VALUE + ", e.g. " + name + "0");
            }
            return board;
        }

        private void usb(List<Token> tokens, int end) {
            f.board = board(tokens.get(0), "USB");
            int classIndex = resourceClass(tokens, end, 2);
            Token resourceClass = tokens.get(classIndex);
            List<Token> middle = tokens.subList(1, classIndex);
            String[] parts = {"vendor id", "product id", "serial number"};
            if (middle.size() < parts.length) {
                throw fail(resourceClass.start(), "", parts[middle.size()], "is missing; expected " + USB_FORM);
            }
            if (middle.size() > parts.length + 1) {
                throw fail(middle.get(parts.length + 1), "part", "is unexpected; expected " + USB_FORM);
            }
            f.usbVendorId = usbId(middle.get(0), parts[0]);
            f.usbProductId = usbId(middle.get(1), parts[1]);
            f.usbSerial = usbSerial(middle.get(2));
            if (middle.size() == 4) {
                Token n = middle.get(3);
                f.usbInterface = decimal(n.text());
                if (f.usbInterface < 0 || f.usbInterface > MAX_USB_INTERFACE) {
                    throw fail(n, "USB interface number", "must be a decimal number 0-" + MAX_USB_INTERFACE);
                }
            }
            if (resourceClass.text().equalsIgnoreCase("SOCKET")) {
                throw fail(resourceClass, "resource class", "is not supported here; expected " + USB_FORM);
            }
            f.kind = resourceClass.text().equalsIgnoreCase("RAW") ? TransportKind.USB_RAW : TransportKind.USBTMC;
        }

        private int usbId(Token t, String what) {
            String text = t.text();
            int value;
            if (text.length() > 2 && text.charAt(0) == '0' && (text.charAt(1) == 'x' || text.charAt(1) == 'X')) {
                value = text.length() > 6 ? -1 : hex(text.substring(2));
            } else {
                value = decimal(text);
            }
            if (value < 0 || value > 0xFFFF) {
                throw fail(t, what, "must be 0-65535 in decimal or 0x0000-0xFFFF in hex, e.g. 0x0957");
            }
            return value;
        }

        private String usbSerial(Token t) {
            String text = t.text();
            if (text.isEmpty() || text.length() > MAX_USB_SERIAL) {
                throw fail(t, "USB serial number", "must be 1-" + MAX_USB_SERIAL + " characters");
            }
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c < 0x21 || c > 0x7e || c == ':') {
                    throw fail(t.start() + i, String.valueOf(c), "character",
                            "is not allowed in a USB serial number; expected printable ASCII without \":\"");
                }
            }
            return text;
        }

        private void gpib(List<Token> tokens, int end) {
            f.board = board(tokens.get(0), "GPIB");
            int classIndex = resourceClass(tokens, end, 1);
            Token resourceClass = tokens.get(classIndex);
            List<Token> middle = tokens.subList(1, classIndex);
            if (middle.isEmpty()) {
                throw fail(resourceClass.start(), "", "GPIB primary address", "is missing; expected " + GPIB_FORM);
            }
            if (middle.size() > 2) {
                throw fail(middle.get(2), "part", "is unexpected; expected " + GPIB_FORM);
            }
            f.gpibAddress = gpibAddress(middle.get(0), "GPIB primary address");
            if (middle.size() == 2) {
                f.gpibSecondary = gpibAddress(middle.get(1), "GPIB secondary address");
            }
            requireInstr(resourceClass, GPIB_FORM);
            f.kind = TransportKind.GPIB;
        }

        private int gpibAddress(Token t, String what) {
            int address = decimal(t.text());
            if (address < 0 || address > MAX_GPIB_ADDRESS) {
                throw fail(t, what, "must be a decimal number 0-" + MAX_GPIB_ADDRESS);
            }
            return address;
        }

        /** Four upper-case hex digits, as VISA writes USB ids. */
        static String hex4(int value) {
            String digits = Integer.toHexString(value).toUpperCase(Locale.ROOT);
            return "0000".substring(digits.length()) + digits;
        }

        /** Parses 1-4 ASCII hex digits; -1 when the text is anything else. */
        private static int hex(String text) {
            if (text.isEmpty() || text.length() > 4) {
                return -1;
            }
            int value = 0;
            for (int i = 0; i < text.length(); i++) {
                int digit = Ipv6.hexDigit(text.charAt(i));
                if (digit < 0) {
                    return -1;
                }
                value = value << 4 | digit;
            }
            return value;
        }

        private void serial(List<Token> tokens, int end) {
            Token keyword = tokens.get(0);
            String port = keyword.text().substring("ASRL".length());
            int p = keyword.start() + "ASRL".length();
            if (port.isEmpty()) {
                throw fail(p, "", "serial port",
                        "is missing; expected a port number or device path, e.g. ASRL1::INSTR or ASRL/dev/ttyUSB0::INSTR");
            }
            if (port.chars().allMatch(c -> c >= '0' && c <= '9')) {
                int number = decimal(port);
                if (number < 0) {
                    throw fail(p, port, "serial port number", "must be at most " + Integer.MAX_VALUE);
                }
                port = Integer.toString(number);
            } else if (WINDOWS_COM.matcher(port).matches()) {
                // Windows device names are case-insensitive; one spelling keeps one domain key.
                port = port.toUpperCase(Locale.ROOT);
            }
            int classIndex = resourceClass(tokens, end, 1);
            if (classIndex > 1) {
                throw fail(tokens.get(1), "part", "is unexpected; expected " + SERIAL_FORM);
            }
            requireInstr(tokens.get(classIndex), SERIAL_FORM);
            f.kind = TransportKind.SERIAL;
            f.serialPort = port;
        }

        private void sim(List<Token> tokens, int end) {
            int classIndex = resourceClass(tokens, end, 2);
            Token resourceClass = tokens.get(classIndex);
            List<Token> middle = tokens.subList(1, classIndex);
            if (middle.isEmpty() || middle.get(0).text().isEmpty()) {
                int at = middle.isEmpty() ? resourceClass.start() : middle.get(0).start();
                throw fail(at, "", "model", "is missing; expected " + SIM_FORM);
            }
            Token model = middle.get(0);
            if (!MODEL.matcher(model.text()).matches()) {
                throw fail(model, "model", "must be letters, digits, '_' or '-'");
            }
            String recording = null;
            int next = 1;
            if (model.text().equalsIgnoreCase(REPLAY)) {
                if (middle.size() < 2 || middle.get(1).text().isEmpty()) {
                    int at = middle.size() < 2 ? resourceClass.start() : middle.get(1).start();
                    throw fail(at, "", "recording", "is missing; expected " + REPLAY_FORM);
                }
                Token name = middle.get(1);
                if (!RECORDING.matcher(name.text()).matches()) {
                    throw fail(name, "recording", "must be letters, digits, '_', '-' or '.', not starting with '.'");
                }
                recording = name.text();
                next = 2;
            }
            int instance = 0;
            if (middle.size() > next) {
                Token n = middle.get(next);
                instance = decimal(n.text());
                if (instance < 0) {
                    throw fail(n, "instance", "must be a decimal number 0-" + Integer.MAX_VALUE);
                }
            }
            if (middle.size() > next + 1) {
                throw fail(middle.get(next + 1), "part", "is unexpected; expected "
                        + (recording == null ? SIM_FORM : REPLAY_FORM));
            }
            requireInstr(resourceClass, SIM_FORM);
            f.kind = TransportKind.SIM;
            f.simModel = model.text().toUpperCase(Locale.ROOT);
            f.simInstance = instance;
            f.simRecording = recording;
        }

        private void options(int start) {
            if (start == input.length()) {
                throw fail(start, "", "options", "are missing after \"?\"; expected key=value[&key=value...]");
            }
            Map<String, String> options = new LinkedHashMap<>();
            int itemStart = start;
            while (true) {
                int amp = input.indexOf('&', itemStart);
                int itemEnd = amp < 0 ? input.length() : amp;
                option(itemStart, itemEnd, options);
                if (amp < 0) {
                    break;
                }
                itemStart = amp + 1;
            }
            f.options = options;
        }

        private void option(int start, int end, Map<String, String> options) {
            String item = input.substring(start, end);
            if (item.isEmpty()) {
                throw fail(start, "", "option", "is empty; expected key=value between \"&\" separators");
            }
            int eq = item.indexOf('=');
            if (eq < 0) {
                throw fail(start, item, "option", "must be key=value");
            }
            String key = item.substring(0, eq);
            String value = item.substring(eq + 1);
            int valueStart = start + eq + 1;
            if (key.isEmpty()) {
                throw fail(start, "", "option key", "is missing; expected key=value");
            }
            if (!OPTION_KEY.matcher(key).matches()) {
                throw fail(start, key, "option key", "must be letters, digits, '_', '-' or '.'");
            }
            String lowerKey = key.toLowerCase(Locale.ROOT);
            if (f.kind == TransportKind.SERIAL && !SERIAL_OPTIONS.contains(lowerKey)) {
                throw fail(start, key, "option", "is not a serial option; known options are " + SERIAL_OPTION_LIST);
            }
            if (options.containsKey(lowerKey)) {
                throw fail(start, key, "option", "is given twice; each option may appear once");
            }
            if (value.isEmpty()) {
                throw fail(valueStart, "", lowerKey + " value", "is missing; expected " + lowerKey + "=<value>");
            }
            if (value.indexOf('=') >= 0 || value.indexOf('?') >= 0) {
                throw fail(valueStart, value, lowerKey + " value",
                        "must not contain \"=\" or \"?\"; separate options with \"&\"");
            }
            options.put(lowerKey, f.kind == TransportKind.SERIAL ? serialValue(lowerKey, value, valueStart) : value);
        }

        private String serialValue(String key, String value, int position) {
            switch (key) {
                case "baud" -> {
                    int baud = decimal(value);
                    if (baud < 1) {
                        throw fail(position, value, "baud value", "must be a positive whole number, e.g. 9600");
                    }
                    return Integer.toString(baud);
                }
                case "data_bits" -> {
                    int bits = decimal(value);
                    if (bits < 5 || bits > 8) {
                        throw fail(position, value, "data_bits value", "must be 5, 6, 7 or 8");
                    }
                    return Integer.toString(bits);
                }
                case "parity" -> {
                    return oneOf(key, value, position, PARITIES);
                }
                case "stop_bits" -> {
                    return oneOf(key, value, position, STOP_BITS);
                }
                case "flow" -> {
                    return oneOf(key, value, position, FLOWS);
                }
                case "write_termination" -> {
                    return oneOf(key, value, position, WRITE_TERMINATIONS);
                }
                case "read_termination" -> {
                    return oneOf(key, value, position, READ_TERMINATIONS);
                }
                case "drain_ms" -> {
                    int ms = decimal(value);
                    if (ms < 0 || ms > MAX_DRAIN_MS) {
                        throw fail(position, value, "drain_ms value", "must be a whole number of milliseconds 0-"
                                + MAX_DRAIN_MS);
                    }
                    return Integer.toString(ms);
                }
                case "late_ms" -> {
                    int ms = decimal(value);
                    if (ms < 0 || ms > MAX_LATE_MS) {
                        throw fail(position, value, "late_ms value", "must be a whole number of milliseconds 0-"
                                + MAX_LATE_MS);
                    }
                    return Integer.toString(ms);
                }
                default -> throw new AssertionError(key);
            }
        }

        private String oneOf(String key, String value, int position, List<String> allowed) {
            String lower = value.toLowerCase(Locale.ROOT);
            if (!allowed.contains(lower)) {
                throw fail(position, value, key + " value", "must be one of " + String.join(", ", allowed));
            }
            return lower;
        }

        /** Parses ASCII digits only ({@link Character#isDigit} would admit other scripts' digits). */
        private static int decimal(String text) {
            // Ten digits cannot overflow a long, and anything longer is out of int range anyway.
            if (text.isEmpty() || text.length() > 10) {
                return -1;
            }
            long value = 0;
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c < '0' || c > '9') {
                    return -1;
                }
                value = value * 10 + (c - '0');
            }
            return value > Integer.MAX_VALUE ? -1 : (int) value;
        }

        private InvalidResourceException fail(Token token, String what, String expectation) {
            return fail(token.start(), token.text(), what, expectation);
        }

        private InvalidResourceException fail(int position, String part, String what, String expectation) {
            return new InvalidResourceException(input, position, part,
                    what + " " + InvalidResourceException.quote(part) + " at position " + position + " " + expectation);
        }
    }

    /** IPv6 literal parsing and RFC 5952 formatting, without touching {@link java.net.InetAddress}. */
    private static final class Ipv6 {

        /**
         * Returns the RFC 5952 text of an IPv6 literal, with its {@code %zone} kept as written, or
         * {@code null} when the text is not one.
         */
        static String canonical(String text) {
            int percent = text.indexOf('%');
            String zone = percent < 0 ? null : text.substring(percent + 1);
            if (zone != null && !Parser.ZONE.matcher(zone).matches()) {
                return null;
            }
            int[] groups = groups(percent < 0 ? text : text.substring(0, percent));
            return groups == null ? null : format(groups) + (zone == null ? "" : "%" + zone);
        }

        private static int[] groups(String address) {
            int gap = address.indexOf("::");
            if (gap >= 0 && address.indexOf("::", gap + 1) >= 0) {
                return null;
            }
            List<Integer> head = new ArrayList<>(8);
            List<Integer> tail = new ArrayList<>(8);
            if (gap < 0) {
                if (!groups(address, head, true) || head.size() != 8) {
                    return null;
                }
            } else {
                String before = address.substring(0, gap);
                String after = address.substring(gap + 2);
                if (!before.isEmpty() && !groups(before, head, false)
                        || !after.isEmpty() && !groups(after, tail, true)
                        || head.size() + tail.size() > 7) {
                    return null;
                }
            }
            int[] out = new int[8];
            for (int i = 0; i < head.size(); i++) {
                out[i] = head.get(i);
            }
            for (int i = 0; i < tail.size(); i++) {
                out[8 - tail.size() + i] = tail.get(i);
            }
            return out;
        }

        private static boolean groups(String text, List<Integer> out, boolean dottedQuadAllowed) {
            String[] parts = text.split(":", -1);
            for (int i = 0; i < parts.length; i++) {
                String part = parts[i];
                if (dottedQuadAllowed && i == parts.length - 1 && part.indexOf('.') >= 0) {
                    String[] octets = part.split("\\.", -1);
                    if (octets.length != 4) {
                        return false;
                    }
                    int[] v = new int[4];
                    for (int k = 0; k < 4; k++) {
                        v[k] = octet(octets[k]);
                        if (v[k] < 0) {
                            return false;
                        }
                    }
                    out.add(v[0] << 8 | v[1]);
                    out.add(v[2] << 8 | v[3]);
                    continue;
                }
                if (part.isEmpty() || part.length() > 4) {
                    return false;
                }
                int value = 0;
                for (int k = 0; k < part.length(); k++) {
                    int digit = hexDigit(part.charAt(k));
                    if (digit < 0) {
                        return false;
                    }
                    value = value << 4 | digit;
                }
                out.add(value);
            }
            return true;
        }

        /** Returns 0-255 for a decimal octet without leading zeros, else -1. */
        static int octet(String text) {
            if (text.isEmpty() || text.length() > 3 || text.length() > 1 && text.charAt(0) == '0') {
                return -1;
            }
            int value = 0;
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c < '0' || c > '9') {
                    return -1;
                }
                value = value * 10 + (c - '0');
            }
            return value <= 255 ? value : -1;
        }

        static int hexDigit(char c) {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            if (c >= 'a' && c <= 'f') {
                return c - 'a' + 10;
            }
            if (c >= 'A' && c <= 'F') {
                return c - 'A' + 10;
            }
            return -1;
        }

        private static String format(int[] g) {
            // RFC 5952 5: IPv4-mapped addresses keep their dotted-quad tail.
            if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff) {
                return "::ffff:" + (g[6] >> 8) + "." + (g[6] & 0xff) + "." + (g[7] >> 8) + "." + (g[7] & 0xff);
            }
            // RFC 5952 4.2: compress the longest run of two or more zero groups, the first on a tie.
            int bestStart = -1;
            int bestLength = 1;
            for (int i = 0; i < 8; ) {
                if (g[i] != 0) {
                    i++;
                    continue;
                }
                int j = i;
                while (j < 8 && g[j] == 0) {
                    j++;
                }
                if (j - i > bestLength) {
                    bestStart = i;
                    bestLength = j - i;
                }
                i = j;
            }
            StringBuilder out = new StringBuilder(39);
            for (int i = 0; i < 8; i++) {
                if (i == bestStart) {
                    out.append("::");
                    i += bestLength - 1;
                    continue;
                }
                if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
                    out.append(':');
                }
                out.append(Integer.toHexString(g[i]));
            }
            return out.toString();
        }
    }
}
