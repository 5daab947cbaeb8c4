package org.labhal.server;

/** What a {@link TcpServer} does with a new client while it already serves its maximum number. */
public enum AtCapacity {
    /**
     * Accept it, let the {@link ConnectionHandler#refuse handler} tell it why, and close it (FIN): the
     * client learns at once that it was turned away, as a gateway's clients should.
     */
    REFUSE,
    /**
     * Stop accepting until a connection ends: the client's connect completes in the kernel's listen
     * backlog and it is served when a slot frees up, as an instrument that takes one client at a time
     * behaves.
     */
    WAIT
}
