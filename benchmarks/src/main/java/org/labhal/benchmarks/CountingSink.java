package org.labhal.benchmarks;

import java.io.OutputStream;

/** An output stream that only counts what it is given: the null sink of the block benchmark. */
final class CountingSink extends OutputStream {
    private long count;

    @Override
    public void write(int b) {
        count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
        count += len;
    }

    long count() {
        return count;
    }
}
