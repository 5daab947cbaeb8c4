package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.sim.ScpiClient.BRIEF;
import static org.labhal.transport.sim.ScpiClient.TIMEOUT;
import static org.labhal.transport.sim.ScpiClient.query;
import static org.labhal.transport.sim.ScpiClient.read;
import static org.labhal.transport.sim.ScpiClient.send;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Unsynchronised clients: on the SHARED model they really get each other's answers; on the
 * SMW200A model every answer reaches its own question.
 */
class ConcurrencyTest {

    private static final int CLIENTS = 4;
    private static final int ROUNDS = 40;
    private static final Pattern TOKEN = Pattern.compile("C\\d+R\\d+");

    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stopThreads() throws InterruptedException {
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(5, TimeUnit.SECONDS));
    }

    /** Outcome of all clients' question/answer rounds. */
    private record Tally(int right, int wrong, int timedOut) {

        Tally plus(Tally other) {
            return new Tally(right + other.right, wrong + other.wrong, timedOut + other.timedOut);
        }
    }

    /** Each client asks SIM:ECHO? with its own unique tokens on its own connection, no locking. */
    private Tally hammer(SimulatedInstrument instrument, Duration readTimeout) throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Tally>> clients = new ArrayList<>();
        for (int client = 0; client < CLIENTS; client++) {
            int id = client;
            SimConnection connection = instrument.connect();
            clients.add(threads.submit(() -> {
                int right = 0;
                int wrong = 0;
                int timedOut = 0;
                start.await();
                for (int round = 0; round < ROUNDS; round++) {
                    String token = "C" + id + "R" + round;
                    send(connection, "SIM:ECHO? " + token);
                    try {
                        String answer = read(connection, readTimeout);
                        if (answer.equals(token)) {
                            right++;
                        } else {
                            assertTrue(TOKEN.matcher(answer).matches(), () -> "not any client's answer: " + answer);
                            wrong++;
                        }
                    } catch (TimeoutException e) {
                        timedOut++;
                    }
                }
                return new Tally(right, wrong, timedOut);
            }));
        }
        start.countDown();
        Tally total = new Tally(0, 0, 0);
        for (Future<Tally> client : clients) {
            total = total.plus(client.get(30, TimeUnit.SECONDS));
        }
        assertEquals(CLIENTS * ROUNDS, total.right() + total.wrong() + total.timedOut());
        return total;
    }

    @Test
    void sharedBufferInstrumentMixesUpUnsynchronisedClients() throws Exception {
        SimSettings settings = SimSettings.defaults().withProcessingDelay(Duration.ofMillis(1));
        try (SimulatedInstrument shared = SimulatedInstrument.create("SHARED", settings)) {
            // Crosstalk needs two clients inside at once, which a loaded machine may not schedule in
            // one round: repeat until it shows (a shared buffer always shows it in time).
            Tally tally = hammer(shared, Duration.ofMillis(30));
            for (int attempt = 1; attempt < 20 && tally.wrong() + tally.timedOut() == 0; attempt++) {
                tally = hammer(shared, Duration.ofMillis(30));
            }
            Tally seen = tally;
            assertTrue(seen.wrong() + seen.timedOut() > 0, () -> "no crosstalk in 20 rounds: " + seen);
            try (SimConnection c = shared.connect()) {
                String first = query(c, "SYST:ERR?");
                assertTrue(Set.of("-410", "-420").contains(first.substring(0, 4)), first);
            }
        }
    }

    @Test
    void independentSessionsKeepEveryAnswerWithItsQuestion() throws Exception {
        SimSettings settings = SimSettings.defaults().withProcessingDelay(Duration.ofMillis(1));
        try (SimulatedInstrument smw = SimulatedInstrument.create("SMW200A", settings)) {
            Tally tally = hammer(smw, TIMEOUT);
            assertEquals(new Tally(CLIENTS * ROUNDS, 0, 0), tally);
        }
    }

    @Test
    void independentSessionsExecuteInParallel() throws Exception {
        CountDownLatch waiting = new CountDownLatch(1);
        SimSettings slow = SimSettings.defaults().withOperationTime(Duration.ofMinutes(30));
        try (SimulatedInstrument smw = InstrumentSimulator.of("SMW200A", slow, message -> {
            if (message.contains("*WAI")) {
                waiting.countDown();
            }
        }); SimConnection a = smw.connect(); SimConnection b = smw.connect()) {
            Future<?> blocked = threads.submit(() -> {
                send(a, "INIT;*WAI;SIM:ECHO? a");
                return null;
            });
            assertTrue(waiting.await(5, TimeUnit.SECONDS));
            Future<String> answer = threads.submit(() -> query(b, "SIM:ECHO? b"));
            assertEquals("b", answer.get(5, TimeUnit.SECONDS), "b is not queued behind a's *WAI");
            a.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> blocked.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof IOException, e::toString);
        }
    }

    @Test
    void sharedBufferInstrumentExecutesOneMessageAtATime() throws Exception {
        CountDownLatch waiting = new CountDownLatch(1);
        SimSettings slow = SimSettings.defaults().withOperationTime(Duration.ofMinutes(30));
        try (SimulatedInstrument shared = InstrumentSimulator.of("SHARED", slow, message -> {
            if (message.contains("*WAI")) {
                waiting.countDown();
            }
        }); SimConnection a = shared.connect(); SimConnection b = shared.connect()) {
            Future<?> blocked = threads.submit(() -> {
                send(a, "INIT;*WAI;SIM:ECHO? a");
                return null;
            });
            assertTrue(waiting.await(5, TimeUnit.SECONDS));
            Future<?> queued = threads.submit(() -> {
                send(b, "SIM:ECHO? b");
                return null;
            });
            assertThrows(TimeoutException.class, () -> read(b, BRIEF), "b waits behind a's *WAI");
            a.close();
            assertEquals("b", read(b, TIMEOUT));
            queued.get(5, TimeUnit.SECONDS);
            assertThrows(ExecutionException.class, () -> blocked.get(5, TimeUnit.SECONDS));
        }
    }
}
