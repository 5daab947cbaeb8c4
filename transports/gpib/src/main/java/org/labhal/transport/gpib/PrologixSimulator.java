package org.labhal.transport.gpib;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.labhal.transport.sim.SimConnection;
import org.labhal.transport.sim.SimRead;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.sim.SimulatedInstrument;

/**
 * A Prologix-style GPIB controller (GPIB-ETHERNET on loopback TCP; put socat in front for a
 * GPIB-USB on a pseudo-terminal) with simulated instruments on its bus, each a
 * {@link SimulatedInstrument} with one {@link SimConnection} at its own GPIB address.
 *
 * <p>What it does as the real controller does: host lines end at an unescaped CR or LF, ESC makes the
 * next byte literal, a line starting with an unescaped {@code ++} is a controller command, any other
 * line goes to the addressed instrument with the {@code ++eos} characters appended and EOI on its
 * last byte when {@code ++eoi 1}. Commands: {@code ++addr [pad [sad]]} (sad 96-126), {@code ++auto},
 * {@code ++eoi}, {@code ++eos}, {@code ++mode}, {@code ++read_tmo_ms}, {@code ++savecfg} (set or
 * query), {@code ++ver}, {@code ++read [eoi|<char>]}, {@code ++clr} (selected device clear),
 * {@code ++trg}, {@code ++spoll [pad [sad]]}, {@code ++loc}, {@code ++llo}, {@code ++ifc}. A
 * {@code ++read} forwards what the addressed instrument says until EOI, the given character (sent
 * too) or {@code read_tmo_ms} without a byte; what it did not forward stays in the instrument for the
 * next read, as GPIB handshaking keeps it there. An address with no instrument gives nothing after
 * {@code read_tmo_ms}. Any byte from the host during a {@code ++read} aborts it first.
 *
 * <p>Each TCP client is its own controller (its own address and settings) on one shared bus. Fault
 * knobs for tests: {@link #dropLinks()}, {@link #sendGarbage(byte[])}, {@link #trickle(Duration)}.
 * Counters: {@link #addressChanges()}, {@link #commands(String)}, {@link #triggers}, {@link #clears},
 * {@link #remoteState}. Thread-safe. Loopback only.
 */
public final class PrologixSimulator implements AutoCloseable {
    /** What {@code ++ver} answers unless the builder says otherwise. */
    public static final String DEFAULT_VERSION = "Prologix GPIB-ETHERNET Controller version 01.06.06.00";
    private static final int ESC = 27;
    private static final int MAX_LINE = 1 << 20;
    private static final int CHUNK = 4096;

    private final Map<Integer, Device> devices; // key: pad * 1000 + sad, sad -1 for none
    private final String version;
    private final ServerSocket server;
    private final ExecutorService threads;
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();
    private final AtomicLong addressChanges = new AtomicLong();
    private final Map<String, AtomicLong> commandCounts = new ConcurrentHashMap<>();
    private volatile long trickleNanos;
    private volatile boolean closed;

    private PrologixSimulator(Builder b) throws IOException {
        this.version = b.version;
        Map<Integer, Device> map = new LinkedHashMap<>();
        try {
            for (Map.Entry<Integer, String> e : b.instruments.entrySet()) {
                SimulatedInstrument instrument = SimulatedInstrument.create(e.getValue(), b.settings);
                map.put(e.getKey(), new Device(e.getKey(), instrument, instrument.connect()));
            }
        } catch (IOException | RuntimeException e) {
            map.values().forEach(d -> d.instrument.close());
            throw e;
        }
        this.devices = Map.copyOf(map);
        this.server = new ServerSocket(b.port, 50, InetAddress.getLoopbackAddress());
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "prologix-sim-" + server.getLocalPort() + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        threads.execute(this::accept);
    }

    /** @return a builder for a simulator with no instruments yet */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the loopback TCP port it listens on */
    public int port() {
        return server.getLocalPort();
    }

    /** @return how many {@code ++addr} commands that set an address it received, from every client */
    public long addressChanges() {
        return addressChanges.get();
    }

    /**
     * @param name a command name without {@code ++}, e.g. {@code clr}, {@code read}, {@code ver}
     * @return how many such commands it received, from every client
     */
    public long commands(String name) {
        AtomicLong c = commandCounts.get(name);
        return c == null ? 0 : c.get();
    }

    /** @return how many {@code ++trg} reached the instrument at {@code primary} (secondary -1: none) */
    public int triggers(int primary, int secondary) {
        return device(primary, secondary).triggers.get();
    }

    /** @return how many {@code ++clr} reached the instrument at {@code primary} (secondary -1: none) */
    public int clears(int primary, int secondary) {
        return device(primary, secondary).clears.get();
    }

    /**
     * @return {@code LOCAL}, {@code REMOTE} (it was sent data) or {@code LOCKOUT} (remote with the front
     *         panel locked by {@code ++llo}) for the instrument at {@code primary}
     */
    public String remoteState(int primary, int secondary) {
        return device(primary, secondary).state;
    }

    /** @return how many hosts are connected */
    public int clients() {
        return clients.size();
    }

    /** Fault: closes every host connection, as a controller that loses power or its cable does. */
    public void dropLinks() {
        for (Client c : clients) {
            c.close();
        }
    }

    /** Fault: sends {@code bytes} to every host although nobody asked. */
    public void sendGarbage(byte[] bytes) {
        for (Client c : clients) {
            c.send(bytes, 0, bytes.length);
        }
    }

    /** Fault: from now on instruments' answers go to the host one byte per {@code perByte}. */
    public void trickle(Duration perByte) {
        trickleNanos = perByte.toNanos();
    }

    private Device device(int primary, int secondary) {
        Device d = devices.get(key(primary, secondary));
        if (d == null) {
            throw new IllegalArgumentException("no instrument at GPIB address " + primary
                    + (secondary >= 0 ? " secondary " + secondary : ""));
        }
        return d;
    }

    private static int key(int primary, int secondary) {
        return primary * 1000 + secondary;
    }

    private void count(String name) {
        commandCounts.computeIfAbsent(name, k -> new AtomicLong()).incrementAndGet();
    }

    private void accept() {
        long backoff = 10;
        while (!closed) {
            try {
                Socket s = server.accept();
                backoff = 10;
                s.setTcpNoDelay(true);
                Client c = new Client(s);
                clients.add(c);
                if (closed) {
                    c.close();
                    return;
                }
                threads.execute(c::serve);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                try {
                    Thread.sleep(backoff); // e.g. too many open files: back off, never die
                } catch (InterruptedException ie) {
                    return;
                }
                backoff = Math.min(1000, backoff * 2);
            }
        }
    }

    /** Stops listening, closes every host connection and instrument; idempotent. */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        dropLinks();
        threads.shutdownNow();
        devices.values().forEach(d -> d.instrument.close());
    }

    /** One instrument on the bus: what it was asked to send and has not sent stays here. */
    private static final class Device {
        final int key;
        final SimulatedInstrument instrument;
        final SimConnection connection;
        final AtomicInteger triggers = new AtomicInteger();
        final AtomicInteger clears = new AtomicInteger();
        volatile String state = "LOCAL";
        // Bytes read from the instrument and not yet forwarded; guarded by this.
        private byte[] held = new byte[0];
        private int heldStart;
        private boolean heldEnds;

        Device(int key, SimulatedInstrument instrument, SimConnection connection) {
            this.key = key;
            this.instrument = instrument;
            this.connection = connection;
        }

        /** Up to {@code buffer.length} bytes of the current answer; the rest stays. */
        SimRead read(byte[] buffer, Duration timeout) throws IOException, TimeoutException, InterruptedException {
            synchronized (this) {
                int n = held.length - heldStart;
                if (n > 0) {
                    int take = Math.min(n, buffer.length);
                    System.arraycopy(held, heldStart, buffer, 0, take);
                    heldStart += take;
                    return new SimRead(take, heldEnds && heldStart == held.length);
                }
            }
            return connection.read(buffer, 0, buffer.length, timeout);
        }

        /** Puts bytes not forwarded back in front of what the instrument still has to say. */
        synchronized void unread(byte[] buffer, int from, int to, boolean ends) {
            byte[] rest = new byte[to - from + held.length - heldStart];
            System.arraycopy(buffer, from, rest, 0, to - from);
            System.arraycopy(held, heldStart, rest, to - from, held.length - heldStart);
            heldEnds = held.length > heldStart ? heldEnds : ends;
            held = rest;
            heldStart = 0;
        }

        synchronized boolean holds() {
            return heldStart < held.length;
        }

        void clear() throws IOException {
            synchronized (this) {
                held = new byte[0];
                heldStart = 0;
            }
            connection.deviceClear();
            clears.incrementAndGet();
        }
    }

    /** One host connection: a controller with its own settings. */
    private final class Client {
        private final Socket socket;
        private final Object sending = new Object();
        private int primary = -1;
        private int secondary = -1;
        private int auto;
        private int eoi = 1;
        private int eos;
        private int mode = 1;
        private int savecfg = 1;
        private volatile int readTimeoutMillis = 500;
        // The ++read in progress, if any; only the serving thread starts and aborts it.
        private Talker talker;

        Client(Socket socket) {
            this.socket = socket;
        }

        void serve() {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            boolean escaped = false;
            boolean command = false; // the line so far starts with an unescaped "++"
            byte[] buffer = new byte[CHUNK];
            try (InputStream in = socket.getInputStream()) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    abortRead(); // any host byte aborts a ++read in progress
                    for (int i = 0; i < n; i++) {
                        int b = buffer[i] & 0xFF;
                        if (!escaped && b == ESC) {
                            escaped = true;
                            continue;
                        }
                        if (!escaped && (b == '\r' || b == '\n')) {
                            if (line.size() > 0) {
                                abortRead(); // a line after a ++read in the same packet aborts it too
                                handle(line.toByteArray(), command && line.size() >= 2);
                            }
                            line.reset();
                            command = false;
                            continue;
                        }
                        if (line.size() == 0) {
                            command = !escaped && b == '+';
                        } else if (line.size() == 1) {
                            command &= !escaped && b == '+';
                        }
                        escaped = false;
                        if (line.size() < MAX_LINE) {
                            line.write(b);
                        }
                    }
                }
            } catch (IOException | InterruptedException e) {
                // host went away, or the simulator closed
            } finally {
                try {
                    abortRead();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                close();
            }
        }

        private void handle(byte[] line, boolean isCommand) throws IOException, InterruptedException {
            if (!isCommand) {
                toInstrument(line);
                return;
            }
            try {
                command(line);
            } catch (NumberFormatException e) {
                count("malformed"); // a real controller ignores a command it cannot parse
            }
        }

        private void command(byte[] line) throws IOException {
            String text = new String(line, 2, line.length - 2, StandardCharsets.ISO_8859_1).trim();
            String[] words = text.isEmpty() ? new String[] {""} : text.split("\\s+");
            String name = words[0].toLowerCase(java.util.Locale.ROOT);
            count(name);
            switch (name) {
                case "addr" -> {
                    if (words.length == 1) {
                        reply(primary + (secondary >= 0 ? " " + (secondary + 96) : ""));
                    } else {
                        primary = Integer.parseInt(words[1]);
                        secondary = words.length > 2 ? Integer.parseInt(words[2]) - 96 : -1;
                        addressChanges.incrementAndGet();
                    }
                }
                case "auto" -> auto = setting(words, auto);
                case "eoi" -> eoi = setting(words, eoi);
                case "eos" -> eos = setting(words, eos);
                case "mode" -> mode = setting(words, mode);
                case "savecfg" -> savecfg = setting(words, savecfg);
                case "read_tmo_ms" -> readTimeoutMillis = setting(words, readTimeoutMillis);
                case "ver" -> reply(version);
                case "read" -> {
                    int until = words.length == 1 ? Talker.TIMEOUT
                            : words[1].equalsIgnoreCase("eoi") ? Talker.EOI : Integer.parseInt(words[1]) & 0xFF;
                    startRead(until);
                }
                case "clr" -> {
                    Device d = addressed();
                    if (d != null) {
                        d.clear();
                    }
                }
                case "trg" -> {
                    Device d = addressed();
                    if (d != null) {
                        d.triggers.incrementAndGet();
                    }
                }
                case "spoll" -> {
                    Device d = words.length == 1 ? addressed()
                            : devices.get(key(Integer.parseInt(words[1]),
                                    words.length > 2 ? Integer.parseInt(words[2]) - 96 : -1));
                    if (d != null) { // no device: no handshake, nothing to say
                        reply(Integer.toString(d.connection.statusByte(d.holds())));
                    }
                }
                case "loc" -> {
                    Device d = addressed();
                    if (d != null) {
                        d.state = "LOCAL";
                    }
                }
                case "llo" -> {
                    Device d = addressed();
                    if (d != null) {
                        d.state = "LOCKOUT";
                    }
                }
                default -> {
                    // ++ifc, ++rst and unknown commands: nothing the simulated instruments notice
                }
            }
        }

        private int setting(String[] words, int current) {
            if (words.length == 1) {
                reply(Integer.toString(current));
                return current;
            }
            return Integer.parseInt(words[1]);
        }

        private Device addressed() {
            return primary < 0 ? null : devices.get(key(primary, secondary));
        }

        private void toInstrument(byte[] data) throws IOException, InterruptedException {
            Device d = addressed();
            if (d == null) {
                return; // no listener: a real controller reports nothing either
            }
            byte[] suffix = switch (eos) {
                case 0 -> new byte[] {'\r', '\n'};
                case 1 -> new byte[] {'\r'};
                case 2 -> new byte[] {'\n'};
                default -> new byte[0];
            };
            byte[] message = new byte[data.length + suffix.length];
            System.arraycopy(data, 0, message, 0, data.length);
            System.arraycopy(suffix, 0, message, data.length, suffix.length);
            if (!"LOCKOUT".equals(d.state)) {
                d.state = "REMOTE";
            }
            d.connection.write(message, 0, message.length, eoi == 1);
            if (auto == 1) {
                startRead(Talker.EOI);
            }
        }

        private void startRead(int until) {
            talker = new Talker(this, addressed(), until, readTimeoutMillis);
            threads.execute(talker);
        }

        private void abortRead() throws InterruptedException {
            Talker t = talker;
            if (t != null) {
                talker = null;
                t.abort();
            }
        }

        void reply(String text) {
            byte[] bytes = (text + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
            send(bytes, 0, bytes.length);
        }

        void send(byte[] bytes, int from, int length) {
            synchronized (sending) {
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write(bytes, from, length);
                    out.flush();
                } catch (IOException e) {
                    close();
                }
            }
        }

        void close() {
            clients.remove(this);
            try {
                socket.close();
            } catch (IOException ignored) {
                // closed anyway
            }
        }
    }

    /** A {@code ++read}: forwards what the addressed instrument says until its end condition. */
    private final class Talker implements Runnable {
        static final int EOI = -1;
        static final int TIMEOUT = -2;
        private final Client client;
        private final Device device;
        private final int until;
        private final int timeoutMillis;
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile Thread thread;
        private volatile boolean aborted;

        Talker(Client client, Device device, int until, int timeoutMillis) {
            this.client = client;
            this.device = device;
            this.until = until;
            this.timeoutMillis = timeoutMillis;
        }

        @Override
        public void run() {
            thread = Thread.currentThread();
            try {
                if (!aborted) {
                    talk();
                }
            } catch (InterruptedException | IOException | TimeoutException e) {
                // aborted by the host, instrument closed, or read_tmo_ms passed without a byte
            } finally {
                thread = null;
                Thread.interrupted(); // a late abort must not reach the pool's next task
                done.countDown();
            }
        }

        private void talk() throws InterruptedException, IOException, TimeoutException {
            if (device == null) {
                Thread.sleep(timeoutMillis); // nobody talks: the controller waits out its timeout
                return;
            }
            byte[] buffer = new byte[CHUNK];
            while (!aborted) {
                SimRead got = device.read(buffer, Duration.ofMillis(timeoutMillis));
                int n = got.count();
                int stop = n;
                if (until >= 0) {
                    for (int i = 0; i < n; i++) {
                        if ((buffer[i] & 0xFF) == until) {
                            stop = i + 1;
                            break;
                        }
                    }
                }
                if (stop < n) {
                    device.unread(buffer, stop, n, got.end());
                }
                int sent = forward(buffer, stop);
                if (sent < stop) {
                    device.unread(buffer, sent, stop, got.end() && stop == n);
                    return;
                }
                if (stop < n || (got.end() && stop == n && until != TIMEOUT)) {
                    return; // the character, or EOI with the last byte
                }
            }
        }

        /** @return how many bytes went to the host before an abort */
        private int forward(byte[] buffer, int length) {
            long perByte = trickleNanos;
            if (perByte <= 0) {
                client.send(buffer, 0, length);
                return length;
            }
            for (int i = 0; i < length; i++) {
                if (aborted) {
                    return i;
                }
                client.send(buffer, i, 1);
                try {
                    TimeUnit.NANOSECONDS.sleep(perByte);
                } catch (InterruptedException e) {
                    return i + 1;
                }
            }
            return length;
        }

        void abort() throws InterruptedException {
            aborted = true;
            Thread t = thread;
            if (t != null) {
                t.interrupt();
            }
            if (!done.await(5, TimeUnit.SECONDS)) {
                throw new InterruptedException("a ++read did not stop");
            }
        }
    }

    /** Which instruments sit where, and how the controller introduces itself. */
    public static final class Builder {
        private final Map<Integer, String> instruments = new LinkedHashMap<>();
        private SimSettings settings = SimSettings.defaults();
        private String version = DEFAULT_VERSION;
        private int port;

        private Builder() {
        }

        /** Puts a simulated instrument ({@code SMW200A} or {@code SHARED}) at a primary address 0-30. */
        public Builder instrument(int primary, String model) {
            return instrument(primary, -1, model);
        }

        /** Puts a simulated instrument at a primary address 0-30 and secondary address 0-30 (-1: none). */
        public Builder instrument(int primary, int secondary, String model) {
            if (primary < 0 || primary > 30 || secondary < -1 || secondary > 30) {
                throw new IllegalArgumentException("GPIB addresses are 0-30, got " + primary + " " + secondary);
            }
            if (instruments.putIfAbsent(key(primary, secondary), model) != null) {
                throw new IllegalArgumentException("two instruments at GPIB address " + primary);
            }
            return this;
        }

        /** Timing and identity of every instrument. */
        public Builder settings(SimSettings value) {
            settings = value;
            return this;
        }

        /** What {@code ++ver} answers, e.g. to pose as something that is not a Prologix controller. */
        public Builder version(String value) {
            version = value;
            return this;
        }

        /** The TCP port; 0 (default) picks a free one. Prologix GPIB-ETHERNET uses 1234. */
        public Builder port(int value) {
            port = value;
            return this;
        }

        /**
         * @return a running simulator
         * @throws IOException when the port cannot be bound
         */
        public PrologixSimulator start() throws IOException {
            return new PrologixSimulator(this);
        }
    }

    /**
     * Runs a simulator by hand until the process is killed:
     * {@code --tcp 1234 --instrument 22=SHARED --instrument 5=SMW200A --instrument 9,3=SHARED}
     * (an instrument at primary 9, secondary 3).
     */
    public static void main(String[] args) throws IOException, InterruptedException {
        Builder b = builder();
        List<String> shown = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--tcp" -> b.port(Integer.parseInt(args[++i]));
                case "--instrument" -> {
                    String[] kv = args[++i].split("=", 2);
                    String[] address = kv[0].split(",");
                    b.instrument(Integer.parseInt(address[0]),
                            address.length > 1 ? Integer.parseInt(address[1]) : -1, kv[1]);
                    shown.add(args[i]);
                }
                case "--version" -> b.version(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; use --tcp <port> --instrument <pad>[,<sad>]=<SMW200A|SHARED> [--version <text>]");
            }
        }
        PrologixSimulator simulator = b.start();
        System.out.println("Prologix simulator on 127.0.0.1:" + simulator.port() + " with " + shown);
        new CountDownLatch(1).await();
    }
}
