package org.labhal.transport.sim;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/** A recording cannot be replayed: it is missing or not in the JSON-lines step format. */
public final class RecordingException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final int line;

    /**
     * @param file the recording
     * @param line the line at fault, counting from 1; 0 for the file as a whole
     * @param problem what is wrong
     */
    public RecordingException(Path file, int line, String problem) {
        super("recording " + Objects.requireNonNull(file, "file").toAbsolutePath() + (line > 0 ? " line " + line : "")
                + ": " + problem);
        this.file = file;
        this.line = line;
    }

    /** The recording. */
    public Path file() {
        return file;
    }

    /** The line at fault, counting from 1; 0 when the problem is not one line's. */
    public int line() {
        return line;
    }
}
