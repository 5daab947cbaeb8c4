package org.labhal.fuzz;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;

import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs one fuzz test class on the JUnit platform without Maven, for {@code run.sh}: a fuzzing run
 * then costs one JVM start instead of a reactor build. Jazzer reads {@code JAZZER_FUZZ} from the
 * environment and its libFuzzer arguments from the {@code jazzer.internal.arg.*} system properties.
 * Exits 0 when the run found nothing, 1 otherwise.
 */
public final class FuzzMain {
    private FuzzMain() {
    }

    /** @param args the fully qualified name of the fuzz test class */
    public static void main(String[] args) {
        if (args.length != 1) {
            throw new IllegalArgumentException("expected one argument, the fuzz test class, got " + args.length);
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(args[0])).build();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        LauncherFactory.create().execute(request, listener);
        TestExecutionSummary summary = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        summary.printTo(out);
        summary.printFailuresTo(out, 30);
        System.exit(summary.getTestsFoundCount() > 0 && summary.getTotalFailureCount() == 0 ? 0 : 1);
    }
}
