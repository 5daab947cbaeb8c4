package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.labhal.api.BinaryFormat;
import org.labhal.api.BlockProgress;
import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.api.internal.session.ScriptedConnection.Framing;

/**
 * Random responses, biased towards almost-blocks, never make a session step throw anything but a
 * {@link LabHalException}, never make it ask the connection for more than a 64 KiB buffer, and
 * always leave the session at a message boundary (the whole response read, or the device cleared),
 * so the next step gets its own answer. Fixed seed: a failure reproduces.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlockFuzzTest {
    private static final long SEED = 4882L;
    private static final int CASES = 4000;

    private static byte[] response(Random random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        switch (random.nextInt(6)) {
            case 0 -> {
                // random bytes
            }
            case 1 -> out.write('#');
            case 2 -> {
                out.write('#');
                out.write('0' + random.nextInt(10));
            }
            case 3 -> {
                // a plausible header with a plausible, or wildly wrong, length
                int digits = 1 + random.nextInt(9);
                out.write('#');
                out.write('0' + digits);
                for (int i = 0; i < digits; i++) {
                    out.write(random.nextInt(8) == 0 ? random.nextInt(256) : '0' + random.nextInt(10));
                }
            }
            case 4 -> {
                // a correct block, then maybe cut or extended
                int length = random.nextInt(300);
                String digits = Integer.toString(length);
                out.writeBytes(("#" + digits.length() + digits).getBytes());
                byte[] data = new byte[length];
                random.nextBytes(data);
                out.writeBytes(data);
                out.writeBytes(random.nextBoolean() ? new byte[] {'\n'} : new byte[] {'\r', '\n'});
                byte[] whole = out.toByteArray();
                out.reset();
                out.write(whole, 0, random.nextInt(4) == 0 ? random.nextInt(whole.length + 1) : whole.length);
                return out.toByteArray();
            }
            default -> {
                // text, as a list of numbers might look
                for (int i = random.nextInt(8); i > 0; i--) {
                    out.writeBytes(Double.toString(random.nextGaussian()).getBytes());
                    out.write(random.nextInt(10) == 0 ? ';' : ',');
                }
            }
        }
        byte[] tail = new byte[random.nextInt(random.nextBoolean() ? 20 : 400)];
        random.nextBytes(tail);
        out.writeBytes(tail);
        if (random.nextBoolean()) {
            out.write('\n');
        }
        return out.toByteArray();
    }

    @Test
    void randomResponsesFailOnlyWithLabHalExceptionsAndLeaveTheSessionInSync() throws Exception {
        Random random = new Random(SEED);
        int[] outcomes = new int[2];
        for (Framing framing : Framing.values()) {
            ScriptedConnection connection = new ScriptedConnection(framing);
            try (Session session = connection.open()) {
                for (int i = 0; i < CASES / 2; i++) {
                    byte[] response = response(random);
                    connection.discardScript();
                    connection.pieces(1 + random.nextInt(random.nextBoolean() ? 4 : 1000)).then(response);
                    int operation = random.nextInt(5);
                    try {
                        switch (operation) {
                            case 0 -> session.queryBlock("A?");
                            case 1 -> session.queryBlock("A?", new ByteArrayOutputStream(), BlockProgress.NONE);
                            case 2 -> session.queryBytes("A?");
                            case 3 -> session.queryBinaryValues("A?", BinaryFormat.REAL32);
                            default -> session.queryAsciiValues("A?");
                        }
                        outcomes[0]++;
                    } catch (LabHalException expected) {
                        outcomes[1]++;
                    } catch (Throwable wrong) {
                        fail("case " + i + " over " + framing + ", operation " + operation + ", response "
                                + Arrays.toString(response) + " threw " + wrong, wrong);
                    }
                    assertTrue(connection.inSync(), "case " + i + " over " + framing + ", operation " + operation
                            + " left the session inside a message; response " + Arrays.toString(response));
                    assertTrue(connection.largestRead() <= BlockReader.CHUNK);
                }
            }
        }
        assertEquals(CASES, outcomes[0] + outcomes[1]);
        // Both outcomes are common, or the generator is not exercising the codec.
        assertTrue(outcomes[0] > CASES / 20 && outcomes[1] > CASES / 20, Arrays.toString(outcomes));
    }
}
