package org.labhal.transport.vxi11.internal;

/**
 * A well-formed RPC reply that refuses the call (RFC 5531 accept_stat other than SUCCESS, or a
 * denied message). The stream is still in step; the link may be used again.
 */
public final class RpcRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * @param message the refusal, naming its RPC status
     */
    public RpcRejectedException(String message) {
        super(message);
    }
}
