package org.labhal.runtime.internal.launch;

import java.io.ByteArrayInputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;

/**
 * The executable jar's command-line mode: waits until the runtime is up, runs one Gogo command line,
 * prints its result on standard output, and returns the exit status (0 for success, 1 when the command
 * failed, with its message on standard error). Called once, on the launcher's main thread.
 */
final class CommandLine implements Callable<Integer> {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_.:/=,+@%-]+");

    private final String line;
    private final CommandProcessor processor;
    private final RuntimeReadiness readiness;
    private final Duration startup;
    private final PrintStream out = System.out;
    private final PrintStream err = System.err;

    CommandLine(String line, CommandProcessor processor, RuntimeReadiness readiness, Duration startup) {
        this.line = line;
        this.processor = processor;
        this.readiness = readiness;
        this.startup = startup;
    }

    /**
     * Makes one command line of the process arguments. A single argument is taken as written
     * ({@code "instr:query sim-smw '*IDN?'"}); several are joined, quoting those that Gogo would
     * otherwise expand or split ({@code instr:query sim-smw '*IDN?'} typed without the outer quotes).
     *
     * @param arguments the process arguments, at least one
     * @return the command line
     */
    static String join(String[] arguments) {
        if (arguments.length == 1) {
            return arguments[0];
        }
        StringBuilder line = new StringBuilder();
        for (String argument : arguments) {
            if (line.length() > 0) {
                line.append(' ');
            }
            line.append(PLAIN.matcher(argument).matches() ? argument : "'" + argument.replace("'", "\\'") + "'");
        }
        return line.toString();
    }

    @Override
    public Integer call() throws InterruptedException {
        List<String> pending = readiness.await(startup);
        if (!pending.isEmpty()) {
            err.println("warning: running the command although these are not ready after " + startup.toSeconds()
                    + " s: " + pending);
        }
        CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), out, err);
        try {
            Object result = session.execute(line);
            if (result != null) {
                out.println(session.format(result, Converter.INSPECT));
            }
            return 0;
        } catch (Exception e) {
            err.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            return 1;
        } finally {
            out.flush();
            session.close();
        }
    }
}
