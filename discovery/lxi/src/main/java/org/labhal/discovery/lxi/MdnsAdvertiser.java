package org.labhal.discovery.lxi;

import java.util.Map;

import org.labhal.api.LabHalException;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Advertises services by multicast DNS / DNS-SD (RFC 6762, RFC 6763) on one local interface at a time, as
 * LXI instruments do ({@code _lxi._tcp}, {@code _hislip._tcp}, {@code _vxi-11._tcp}, {@code _scpi-raw._tcp}).
 * One mDNS responder runs per interface while it has advertisements and stops with the last one; nothing
 * listens on the network before the first {@link #advertise} call. Thread-safe.
 */
@ProviderType
public interface MdnsAdvertiser {

    /**
     * Advertises a service until the returned handle is closed (or the advertiser stops). Returns at once:
     * the responder probes for the name and announces the service in the background (about a second), and
     * renames it (e.g. {@code Name (2)}) if someone else on the LAN has it.
     *
     * @param interfaceAddress the local interface to answer on, by address ({@code 127.0.0.1}) or name
     *        ({@code lo}, {@code eth0})
     * @param serviceType a DNS-SD service type such as {@code _hislip._tcp}, with or without the trailing
     *        {@code .local.}
     * @param instanceName the instance name people see, e.g. {@code Simulated SHARED (HiSLIP 4880)}; at most 63
     *        bytes of UTF-8
     * @param port the service's port, 1 to 65535
     * @param txt TXT record entries in order (LXI uses {@code Manufacturer}, {@code Model},
     *        {@code SerialNumber}, {@code FirmwareVersion}); may be empty
     * @return the handle that withdraws the advertisement
     * @throws IllegalArgumentException for a malformed service type, name or port
     * @throws LabHalException naming the interface when it does not exist or the responder cannot start there
     * @throws org.labhal.api.StepInterruptedException when the caller is interrupted; the flag stays set
     */
    Advertisement advertise(String interfaceAddress, String serviceType, String instanceName, int port,
            Map<String, String> txt) throws LabHalException;
}
