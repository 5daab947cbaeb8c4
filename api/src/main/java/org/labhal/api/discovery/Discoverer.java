package org.labhal.api.discovery;

import java.util.Set;
import java.util.function.Consumer;

import org.labhal.api.LabHalException;
import org.labhal.api.TransportKind;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Looks for instruments one transport can reach, when asked: a transport bundle registers one as an
 * OSGi service (with {@link #KINDS_PROPERTY}), so that a bundle installed later adds its search and an
 * uninstalled one takes it away. Nothing listens, broadcasts or touches a port before {@link #discover}
 * is called, and everything opened for a search is closed before it returns.
 */
@ConsumerType
public interface Discoverer {

    /** Service property listing the {@link TransportKind} names this discoverer finds. */
    String KINDS_PROPERTY = "labhal.discovery.kinds";

    /** @return a short name for messages and listings, e.g. {@code mDNS (LXI)} or {@code serial ports} */
    String name();

    /** @return the kinds of resource it finds */
    Set<TransportKind> kinds();

    /**
     * Searches until it has looked everywhere it was asked to or until the request's timeout, whichever
     * comes first, handing each instrument to {@code found} as soon as it is seen (perhaps from another
     * thread, never from two at once). A resource may be reported more than once; the caller merges.
     *
     * @param request how long, where and what may be touched
     * @param found receives each instrument found
     * @throws org.labhal.api.StepInterruptedException when interrupted; the flag stays set
     * @throws LabHalException naming what could not be searched at all (an interface that does not exist,
     *         a library that cannot load); a partial search reports what it found and returns normally
     */
    void discover(DiscoveryRequest request, Consumer<Discovered> found) throws LabHalException;
}
