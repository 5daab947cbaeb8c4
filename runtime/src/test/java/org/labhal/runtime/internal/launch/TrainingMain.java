package org.labhal.runtime.internal.launch;

/**
 * The program of the small jar {@link ClassDataArchiveTest} archives: prints its arguments and exits
 * with the status its first argument names ({@code exit=3}), so a test can make the training run fail.
 */
public final class TrainingMain {
    private TrainingMain() {
    }

    public static void main(String[] args) {
        System.out.println("trained " + String.join(" ", args));
        if (args.length > 0 && args[0].startsWith("exit=")) {
            System.exit(Integer.parseInt(args[0].substring("exit=".length())));
        }
    }
}
