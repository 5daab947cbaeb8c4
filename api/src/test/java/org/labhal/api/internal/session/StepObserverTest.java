package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.labhal.api.InstrumentError;
import org.labhal.api.InstrumentErrorException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.trace.StepKind;
import org.labhal.api.trace.StepObserver;
import org.labhal.api.trace.StepRecord;

/** What a session tells its {@link StepObserver}: one record per step, after the step, whatever its outcome. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StepObserverTest {
    private final List<StepRecord> seen = new CopyOnWriteArrayList<>();

    private Session open(ScriptedConnection connection, StepObserver observer) throws Exception {
        return FixedTransport.factoryFor(connection).open(ResourceAddress.parse(ScriptedConnection.SOCKET),
                SessionOptions.defaults().withIoTimeout(Duration.ofSeconds(10)).withStepObserver(observer));
    }

    /** @return an observer that records every step and keeps block answers' first {@code bytes} bytes */
    private StepObserver keepingBlockHeads(int bytes) {
        return new StepObserver() {
            @Override
            public void stepDone(StepRecord step) {
                seen.add(step);
            }

            @Override
            public int blockAnswerHead() {
                return bytes;
            }
        };
    }

    @Test
    void aQueryIsReportedWithItsCommandAnswerTimingsSessionAndThread() throws Exception {
        ScriptedConnection connection = new ScriptedConnection(ScriptedConnection.Framing.STREAM).then("ACME,1,2,3\n");
        try (Session session = open(connection, seen::add)) {
            assertEquals("ACME,1,2,3", session.query("*IDN?"));
            assertEquals(1, seen.size());
            StepRecord step = seen.get(0);
            assertEquals(StepKind.QUERY, step.kind());
            assertEquals("*IDN?", step.command());
            assertEquals("ACME,1,2,3", step.answerText());
            assertEquals(10, step.answerLength());
            assertNull(step.answerData());
            assertNull(step.failure());
            assertEquals(session.name(), step.session());
            assertEquals(Thread.currentThread().getName(), step.thread());
            assertTrue(step.lockWaitNanos() >= 0 && step.ioNanos() > 0, step.toString());
        }
    }

    @Test
    void aWriteWhoseErrorQueueHasEntriesIsReportedAsFailedWithThem() throws Exception {
        ScriptedConnection connection = new ScriptedConnection(ScriptedConnection.Framing.STREAM)
                .then("-222,\"Data out of range\"\n").then("0,\"No error\"\n");
        try (Session session = open(connection, seen::add)) {
            session.setErrorChecking(true);
            assertThrows(InstrumentErrorException.class, () -> session.write("FREQ 99 THz"));
            StepRecord step = seen.get(0);
            assertEquals(StepKind.WRITE, step.kind());
            assertEquals("FREQ 99 THz", step.command());
            assertEquals(List.of(new InstrumentError(-222, "Data out of range")), step.errors());
            assertInstanceOf(InstrumentErrorException.class, step.failure());
            assertEquals(1, seen.size(), "the error-queue reads are part of the write's step");
        }
    }

    @Test
    void aBlockAnswerIsReportedWithItsWholeLengthAndAHeadOfTheObserversSize() throws Exception {
        byte[] data = new byte[1000];
        Arrays.fill(data, (byte) 7);
        data[0] = 1;
        ScriptedConnection connection = new ScriptedConnection(ScriptedConnection.Framing.STREAM)
                .then(("#41000" + new String(data, StandardCharsets.ISO_8859_1) + "\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
        StepObserver observer = keepingBlockHeads(16);
        try (Session session = open(connection, observer)) {
            assertArrayEquals(data, session.queryBlock("CURV?"));
            StepRecord step = seen.get(0);
            assertEquals(StepKind.QUERY_BLOCK, step.kind());
            assertEquals(1000, step.answerLength());
            assertArrayEquals(Arrays.copyOf(data, 16), step.answerData());
            assertTrue(step.answerTruncated());
        }
    }

    @Test
    void aStepThatCannotGetTheLockIsReportedWithItsWaitAndNoIo() throws Exception {
        ScriptedConnection connection = new ScriptedConnection(ScriptedConnection.Framing.STREAM);
        try (Session session = open(connection, seen::add)) {
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            CompletableFuture<Void> holder = CompletableFuture.runAsync(() -> {
                try (Lease lease = session.lock().acquire(Duration.ofSeconds(10))) {
                    held.countDown();
                    done.await(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertTrue(held.await(30, TimeUnit.SECONDS));
            session.setLockTimeout(Duration.ofMillis(20));
            assertThrows(LockTimeoutException.class, () -> session.write("OUTP ON"));
            done.countDown();
            holder.get(30, TimeUnit.SECONDS);
            StepRecord step = seen.get(0);
            assertEquals(StepKind.WRITE, step.kind());
            assertInstanceOf(LockTimeoutException.class, step.failure());
            assertEquals(0, step.ioNanos());
            assertTrue(step.lockWaitNanos() >= TimeUnit.MILLISECONDS.toNanos(20), step.toString());
            assertEquals(0, connection.messages().size(), "nothing was sent");
        }
    }

    @Test
    void anObserverThatThrowsDoesNotChangeTheStepsOutcome() throws Exception {
        ScriptedConnection connection = new ScriptedConnection(ScriptedConnection.Framing.STREAM).then("1\n");
        try (Session session = open(connection, step -> {
            throw new IllegalStateException("observer bug");
        })) {
            assertEquals("1", session.query("*OPC?"));
        }
    }

    @Test
    void anErrorThrownByTheObserverChangesNeitherASuccessNorAFailure() throws Exception {
        ScriptedConnection connection = new ScriptedConnection(ScriptedConnection.Framing.STREAM).then("1\n");
        StepObserver broken = step -> {
            throw new OutOfMemoryError("observer out of memory");
        };
        try (Session session = open(connection, broken)) {
            assertEquals("1", session.query("*OPC?"));
            session.setIoTimeout(Duration.ofMillis(50));
            assertThrows(org.labhal.api.IoTimeoutException.class, () -> session.query("NOANSWER?"),
                    "the step's own failure, not the observer's");
        }
    }

    @Test
    void aBlockStreamedToASinkKeepsItsHeadAndAClearIsReported() throws Exception {
        byte[] data = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
        ScriptedConnection connection = new ScriptedConnection(ScriptedConnection.Framing.STREAM)
                .then("#216" + new String(data, StandardCharsets.ISO_8859_1) + "\n");
        StepObserver observer = keepingBlockHeads(4);
        try (Session session = open(connection, observer)) {
            java.io.ByteArrayOutputStream sink = new java.io.ByteArrayOutputStream();
            assertEquals(16, session.queryBlock("CURV?", sink, org.labhal.api.BlockProgress.NONE));
            assertArrayEquals(data, sink.toByteArray());
            session.clear();
            assertEquals(StepKind.QUERY_BLOCK, seen.get(0).kind());
            assertArrayEquals("0123".getBytes(StandardCharsets.ISO_8859_1), seen.get(0).answerData());
            assertEquals(16, seen.get(0).answerLength());
            assertEquals(StepKind.CLEAR, seen.get(1).kind());
            assertNull(seen.get(1).command());
            assertNull(seen.get(1).failure());
        }
    }

    @Test
    void aSharedHandleReportsToTheSameObserver() throws Exception {
        ScriptedConnection connection = new ScriptedConnection(ScriptedConnection.Framing.STREAM).then("1\n");
        try (Session session = open(connection, seen::add); Session twin = session.share()) {
            twin.query("*OPC?");
            assertEquals(twin.name(), seen.get(0).session());
        }
    }
}
