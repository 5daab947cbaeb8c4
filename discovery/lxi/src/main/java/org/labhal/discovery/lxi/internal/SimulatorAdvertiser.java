package org.labhal.discovery.lxi.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.labhal.api.LabHalException;
import org.labhal.api.TransportKind;
import org.labhal.discovery.lxi.Advertisement;
import org.labhal.discovery.lxi.MdnsAdvertiser;
import org.labhal.transport.sim.ServedSimulator;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Advertises, by mDNS, every simulated instrument a runtime serves (each a {@link ServedSimulator} service,
 * published by the HiSLIP, VXI-11 and socket simulator launchers) on the interfaces the framework property
 * {@value #PROPERTY} lists ({@value #DEFAULT} unless set; empty: none), as an LXI instrument announces itself:
 * {@code _hislip._tcp}, {@code _vxi-11._tcp} or {@code _scpi-raw._tcp} on its port, with the TXT entries
 * {@code Manufacturer}, {@code Model}, {@code SerialNumber} and {@code FirmwareVersion} from its
 * {@code *IDN?} answer; a VXI-11 one on the standard portmapper (111) also as {@code _lxi._tcp}, since an
 * {@code _lxi._tcp} find is taken to be reachable by VXI-11 through port 111. Each advertisement is withdrawn
 * when its simulator stops. A system property of the same name wins over the framework's.
 * <p>
 * The simulators listen on loopback only: advertising them on another interface tells the LAN about
 * instruments it cannot reach. Without any {@link ServedSimulator} service (no simulators, or no SIM
 * bundle) this component stays inactive.
 */
@Component(service = {}, immediate = true)
public final class SimulatorAdvertiser {
    /** The framework property listing the interfaces to advertise on. */
    public static final String PROPERTY = "labhal.simulators.advertise";
    /** The interfaces when the property is not set. */
    public static final String DEFAULT = "127.0.0.1";
    /** The VXI-11 portmapper's standard port. */
    private static final int PORTMAPPER_PORT = 111;

    private final MdnsAdvertiser advertiser;
    private final List<String> interfaces;
    private final Consumer<String> warn;
    private final Map<ServedSimulator, List<Advertisement>> advertised = new IdentityHashMap<>(); // guarded by itself
    private boolean stopped; // guarded by advertised

    /**
     * @param context reads the property
     * @param advertiser advertises
     * @param logger reports an interface that cannot be advertised on
     */
    @Activate
    public SimulatorAdvertiser(BundleContext context, @Reference MdnsAdvertiser advertiser,
            @Reference(service = LoggerFactory.class) Logger logger) {
        this(advertiser, interfaces(System.getProperty(PROPERTY, context.getProperty(PROPERTY))), logger::warn);
    }

    /**
     * @param advertiser advertises
     * @param interfaces where
     * @param warn receives what could not be advertised
     */
    SimulatorAdvertiser(MdnsAdvertiser advertiser, List<String> interfaces, Consumer<String> warn) {
        this.advertiser = advertiser;
        this.interfaces = List.copyOf(interfaces);
        this.warn = warn;
    }

    /** @return the interfaces a property value lists: {@value #DEFAULT} when unset, none when blank */
    static List<String> interfaces(String value) {
        if (value == null) {
            return List.of(DEFAULT);
        }
        return Arrays.stream(value.split("[\\s,]+")).filter(s -> !s.isEmpty()).toList();
    }

    /** Advertises a simulator that started. */
    @Reference(cardinality = ReferenceCardinality.AT_LEAST_ONE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addSimulator(ServedSimulator simulator) {
        List<Advertisement> made = new ArrayList<>();
        for (String where : interfaces) {
            for (String type : types(simulator)) {
                try {
                    made.add(advertiser.advertise(where, type, instanceName(simulator), simulator.port(),
                            txt(simulator.identification())));
                } catch (LabHalException | IllegalArgumentException e) {
                    warn.accept("Cannot advertise the simulator at " + simulator.resource() + " by mDNS (" + PROPERTY
                            + "): " + e.getMessage());
                }
            }
        }
        synchronized (advertised) {
            if (!stopped) {
                advertised.put(simulator, made);
                return;
            }
        }
        made.forEach(Advertisement::close); // stopped meanwhile
    }

    /** Withdraws a simulator that stopped. */
    void removeSimulator(ServedSimulator simulator) {
        List<Advertisement> made;
        synchronized (advertised) {
            made = advertised.remove(simulator);
        }
        if (made != null) {
            made.forEach(Advertisement::close);
        }
    }

    /** Withdraws everything. */
    @Deactivate
    public void deactivate() {
        List<Advertisement> all = new ArrayList<>();
        synchronized (advertised) {
            stopped = true;
            advertised.values().forEach(all::addAll);
            advertised.clear();
        }
        all.forEach(Advertisement::close);
    }

    /** The DNS-SD types a simulator is advertised as. */
    static List<String> types(ServedSimulator simulator) {
        return switch (simulator.kind()) {
            case HISLIP -> List.of("_hislip._tcp");
            case SOCKET -> List.of("_scpi-raw._tcp");
            case VXI11 -> simulator.port() == PORTMAPPER_PORT ? List.of("_vxi-11._tcp", "_lxi._tcp")
                    : List.of("_vxi-11._tcp");
            default -> List.of();
        };
    }

    /**
     * A name unique among the simulators of one runtime, e.g. {@code SHARED-SIM 1 (HiSLIP 4880)}, cut to the
     * 63 bytes DNS allows.
     */
    static String instanceName(ServedSimulator simulator) {
        String[] idn = simulator.identification().split(",", -1);
        String who = idn.length >= 3 ? idn[1].strip() + " " + idn[2].strip() : "LabHAL simulator";
        String name = who + " (" + simulator.protocol() + " " + simulator.port() + ")";
        while (name.getBytes(StandardCharsets.UTF_8).length > 63) {
            name = name.substring(0, name.length() - 1);
        }
        return name.strip();
    }

    /** The LXI TXT entries from an {@code *IDN?} answer ({@code manufacturer,model,serial,firmware}). */
    static Map<String, String> txt(String identification) {
        String[] idn = identification.split(",", -1);
        Map<String, String> txt = new LinkedHashMap<>();
        String[] keys = {"Manufacturer", "Model", "SerialNumber", "FirmwareVersion"};
        if (idn.length == keys.length) {
            for (int i = 0; i < keys.length; i++) {
                txt.put(keys[i], idn[i].strip());
            }
        }
        return txt;
    }
}
