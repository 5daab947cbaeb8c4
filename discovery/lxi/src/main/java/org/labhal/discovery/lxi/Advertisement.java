package org.labhal.discovery.lxi;

/**
 * One service advertised by {@link MdnsAdvertiser#advertise}; closing it withdraws it (a DNS-SD goodbye,
 * so browsers forget it at once rather than when its records expire).
 */
@org.osgi.annotation.versioning.ProviderType
public interface Advertisement extends AutoCloseable {

    /** @return the instance name as advertised: the one asked for, or a renamed one after a conflict on the LAN */
    String instanceName();

    /** @return the fully qualified service type, e.g. {@code _hislip._tcp.local.} */
    String serviceType();

    /** @return the advertised port */
    int port();

    /**
     * Withdraws the advertisement; idempotent; returns at once: the goodbye (which mDNS repeats for about 2 s)
     * goes out on the advertiser's own threads. When it was the last advertisement on its interface, the mDNS
     * responder there stops.
     */
    @Override
    void close();
}
