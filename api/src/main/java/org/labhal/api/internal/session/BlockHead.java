package org.labhal.api.internal.session;

import java.io.IOException;
import java.util.Arrays;

import org.labhal.api.LabHalException;

/**
 * Passes a block's data on to its target and keeps its first bytes, up to a limit, for a step's record
 * ({@link org.labhal.api.trace.StepObserver#blockAnswerHead()}).
 */
final class BlockHead implements BlockReader.Target {
    private final BlockReader.Target target;
    private final int limit;
    private byte[] head = new byte[0];
    private int kept;

    BlockHead(BlockReader.Target target, int limit) {
        this.target = target;
        this.limit = Math.max(0, limit);
    }

    @Override
    public void expect(long length) {
        target.expect(length);
    }

    @Override
    public void accept(byte[] data, int offset, int length) throws IOException, LabHalException {
        int keep = Math.min(length, limit - kept);
        if (keep > 0) {
            if (kept + keep > head.length) {
                // grows with what arrives, never past the limit: an announced length may be a lie
                head = Arrays.copyOf(head, Math.min(limit, Math.max(kept + keep, head.length * 2)));
            }
            System.arraycopy(data, offset, head, kept, keep);
            kept += keep;
        }
        target.accept(data, offset, length);
    }

    /** @return the bytes kept, at most the limit */
    byte[] kept() {
        return kept == head.length ? head : Arrays.copyOf(head, kept);
    }
}
