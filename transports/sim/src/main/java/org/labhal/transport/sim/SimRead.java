package org.labhal.transport.sim;

/**
 * What one {@link SimConnection#read} delivered.
 *
 * @param count the number of bytes copied into the caller's buffer; at least 1
 * @param end {@code true} when the last byte copied ended a response message (it is that
 *        message's terminating {@code '\n'}), {@code false} when the rest of the same response
 *        waits for the next read
 */
public record SimRead(int count, boolean end) {

    /**
     * @throws IllegalArgumentException when {@code count} is less than 1
     */
    public SimRead {
        if (count < 1) {
            throw new IllegalArgumentException("a read delivers at least 1 byte, count was " + count);
        }
    }
}
