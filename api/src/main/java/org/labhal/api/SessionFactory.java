package org.labhal.api;

import java.util.Set;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Opens sessions to instruments through whatever transports are installed. Registered as an OSGi
 * service by the API bundle; thread-safe.
 */
@ProviderType
public interface SessionFactory {

    /**
     * Opens a session with {@link SessionOptions#defaults()}.
     *
     * @param resource a VISA-style resource string, see {@link ResourceAddress#parse(String)}
     * @return the open session
     * @throws InvalidResourceException when the string is malformed; the message points at the bad part
     * @throws TransportUnavailableException when no installed transport serves that kind of resource
     * @throws LabHalException when the instrument cannot be reached
     */
    Session open(String resource) throws LabHalException;

    /**
     * Opens a session. The lock it starts with follows {@code options.lockPolicy()}: its own lock
     * for {@link org.labhal.api.lock.LockPolicy#INDEPENDENT_SESSIONS}, the instrument's one lock
     * otherwise; under {@link org.labhal.api.lock.LockPolicy#SINGLE_CONNECTION} it also shares the
     * instrument's one connection with the other sessions. Resources on a single physical link
     * ({@link TransportKind#isSingleLink()}, i.e. serial lines) are always opened that way.
     *
     * @param address the instrument
     * @param options lock policy, timeouts and error checking
     * @return the open session
     * @throws TransportUnavailableException when no installed transport serves that kind of resource
     * @throws LabHalException when the instrument cannot be reached
     */
    Session open(ResourceAddress address, SessionOptions options) throws LabHalException;

    /**
     * @return the resource kinds the installed transports serve right now
     */
    Set<TransportKind> transports();
}
