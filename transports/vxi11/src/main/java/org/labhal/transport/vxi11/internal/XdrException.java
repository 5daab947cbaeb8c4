package org.labhal.transport.vxi11.internal;

import java.io.IOException;

/**
 * Bytes from the wire are not the XDR or ONC RPC the reader expected: a record or opaque length
 * that is negative or over its limit, data that ends early, a value outside its type (a bool that is
 * not 0 or 1), or a message of the wrong type. The stream cannot be trusted any more: whoever reads
 * it closes the link.
 */
public final class XdrException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was expected and what arrived
     */
    public XdrException(String message) {
        super(message);
    }
}
