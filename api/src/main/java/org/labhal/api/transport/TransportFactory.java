package org.labhal.api.transport;

import java.time.Duration;
import java.util.Set;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Opens connections for the resource kinds a transport bundle serves. Transport bundles register
 * one as an OSGi service; registering it makes those resources openable, unregistering it (bundle
 * stopped or uninstalled) must close every connection it opened.
 */
@ConsumerType
public interface TransportFactory {

    /**
     * Service property listing the {@link TransportKind} names served, so that tools can filter
     * without calling the service.
     */
    String KINDS_PROPERTY = "labhal.transport.kinds";

    /**
     * @return the kinds of resource this transport serves
     */
    Set<TransportKind> kinds();

    /**
     * Opens a new connection.
     *
     * @param address a resource of one of {@link #kinds()}
     * @param timeout how long connecting may take
     * @return the open connection
     * @throws LabHalException naming the resource when it cannot be reached or refuses the connection
     */
    Connection open(ResourceAddress address, Duration timeout) throws LabHalException;
}
