package org.labhal.faults;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.labhal.faults.Rig.Transport;

/** The results of the cells run so far, printed as a table transports x injections with the failures below. */
final class Matrix {
    private record Cell(String result, List<String> details) {
    }

    private final Map<Transport, Map<Injection, Cell>> cells = new EnumMap<>(Transport.class);

    synchronized void passed(Transport t, Injection i) {
        put(t, i, new Cell("pass", List.of()));
    }

    synchronized void failed(Transport t, Injection i, List<String> broken) {
        put(t, i, new Cell("FAIL", broken));
    }

    synchronized void excluded(Transport t, Injection i, String reason) {
        boolean open = reason.startsWith(Injection.OPEN);
        put(t, i, new Cell(open ? "open" : "n/a", List.of(open ? reason.substring(Injection.OPEN.length()) : reason)));
    }

    private void put(Transport t, Injection i, Cell cell) {
        cells.computeIfAbsent(t, k -> new EnumMap<>(Injection.class)).put(i, cell);
    }

    synchronized String render() {
        StringBuilder out = new StringBuilder("Fault matrix: transports x injections (pass / FAIL / n/a = cannot exist / open = a known defect, not run)\n\n");
        int width = 8;
        for (Injection i : Injection.values()) {
            width = Math.max(width, i.column.length());
        }
        out.append(String.format("%-8s", ""));
        for (Injection i : Injection.values()) {
            out.append(String.format(" %-" + width + "s", i.column));
        }
        out.append(String.format(" %s%n", "cases passes"));
        int allCases = 0;
        int allPasses = 0;
        for (Transport t : Transport.values()) {
            Map<Injection, Cell> row = cells.getOrDefault(t, Map.of());
            int cases = 0;
            int passes = 0;
            out.append(String.format("%-8s", t));
            for (Injection i : Injection.values()) {
                Cell cell = row.get(i);
                String shown = cell == null ? "-" : cell.result();
                if (cell != null && !cell.result().equals("n/a") && !cell.result().equals("open")) {
                    cases++;
                    passes += cell.result().equals("pass") ? 1 : 0;
                }
                out.append(String.format(" %-" + width + "s", shown));
            }
            out.append(String.format(" %5d %6d%n", cases, passes));
            allCases += cases;
            allPasses += passes;
        }
        out.append(String.format("%nall: %d cases, %d passed, %d failed%n", allCases, allPasses, allCases - allPasses));
        out.append("\nColumns:\n");
        for (Injection i : Injection.values()) {
            out.append(String.format("  %-" + width + "s %s%n", i.column, i.description));
        }
        StringBuilder failures = new StringBuilder();
        StringBuilder exclusions = new StringBuilder();
        StringBuilder open = new StringBuilder();
        for (Transport t : Transport.values()) {
            for (Map.Entry<Injection, Cell> e : cells.getOrDefault(t, Map.of()).entrySet()) {
                Cell cell = e.getValue();
                if (cell.result().equals("FAIL")) {
                    failures.append("  ").append(t).append(" x ").append(e.getKey().column).append(":\n");
                    for (String d : cell.details()) {
                        failures.append("    - ").append(d).append('\n');
                    }
                } else if (cell.result().equals("open")) {
                    open.append("  ").append(t).append(" x ").append(e.getKey().column).append(": ")
                            .append(cell.details().get(0)).append('\n');
                } else if (cell.result().equals("n/a")) {
                    exclusions.append("  ").append(t).append(" x ").append(e.getKey().column).append(": ")
                            .append(cell.details().get(0)).append('\n');
                }
            }
        }
        if (failures.length() > 0) {
            out.append("\nFailing cells (promises broken):\n").append(failures);
        }
        if (open.length() > 0) {
            out.append("\nKnown open defects (not run, not counted as passes):\n").append(open);
        }
        if (exclusions.length() > 0) {
            out.append("\nCells that cannot exist:\n").append(exclusions);
        }
        return out.toString();
    }
}
