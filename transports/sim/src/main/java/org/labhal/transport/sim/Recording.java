package org.labhal.transport.sim;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

/**
 * A recording read for replay: the steps of a JSON-lines trace (one JSON object per line, the format
 * {@code instr:record} writes) that a replaying simulator can answer from, grouped by command.
 *
 * <p>What is kept, per command as compared SCPI-wise (case-insensitive, runs of whitespace as one space,
 * leading and trailing whitespace ignored), in recorded order:
 * <ul>
 * <li>{@code QUERY} and {@code QUERY_BLOCK} steps with outcome {@code ok} or {@code error} that carry a
 * whole answer ({@code answer}, or {@code answerBase64} for a binary one), with the errors read in the
 * step;</li>
 * <li>{@code WRITE} steps with outcome {@code ok} or {@code error}, with the errors read in the step.</li>
 * </ul>
 * Not replayable, and counted in {@link #truncated()}: answers recorded with {@code "truncated":true} (only
 * their head is in the file; such a query is treated as never recorded rather than answered with part of
 * what the instrument said). Ignored, and counted in {@link #ignored()}: steps of other kinds ({@code READ},
 * {@code ERROR_QUEUE}, {@code CLEAR}, {@code WRITE_BLOCK}, ... and kinds this reader does not know),
 * steps that did not reach the instrument or got no answer ({@code timeout}, {@code lock-timeout},
 * {@code interrupted}, {@code closed}), and {@code SYSTem:ERRor?} queries, which the replay always
 * answers from its own error queue. Blank lines are skipped; unknown fields are ignored.
 *
 * <p>Bounded: a line may hold at most {@value #MAX_LINE_CHARS} characters (a 1 MiB answer in base64 with
 * room to spare), a file at most {@value #MAX_RECORDS} records and {@value #MAX_KEPT_CHARS} characters of
 * commands and answers kept in all; a bigger one is refused, so reading one never takes more memory than that.
 *
 * <p>Immutable and thread-safe once read.
 */
public final class Recording {

    /** The longest line accepted, in characters. */
    public static final int MAX_LINE_CHARS = 4 << 20;
    /** The most records (non-blank lines) a recording may have. */
    public static final int MAX_RECORDS = 1_000_000;
    /** The most characters of commands and answers a recording may keep in all (256 Mi). */
    public static final long MAX_KEPT_CHARS = 256L << 20;

    /**
     * One recorded step the replay answers with.
     *
     * @param answer the answer as the instrument sent it, one character per byte (ISO-8859-1), without
     *        terminator; {@code null} for a command
     * @param errors the error-queue entries read in the step, e.g. {@code -222,"Data out of range"}
     */
    record Step(String answer, List<String> errors) {
    }

    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern ERROR_QUERY = Pattern.compile(":?SYST(EM)?:ERR(OR)?(:NEXT)?\\?");
    private static final Base64.Decoder BASE64 = Base64.getDecoder();

    private final Path file;
    private final Map<String, List<Step>> steps;
    private final int records;
    private final int replayable;
    private final int truncated;
    private final int ignored;

    private Recording(Path file, Map<String, List<Step>> steps, int records, int replayable, int truncated,
            int ignored) {
        this.file = file;
        this.steps = steps;
        this.records = records;
        this.replayable = replayable;
        this.truncated = truncated;
        this.ignored = ignored;
    }

    /**
     * Reads a recording.
     *
     * @param file a JSON-lines file, UTF-8
     * @return what it holds
     * @throws RecordingException naming the file, and the line where there is one, when the file is missing,
     *         not UTF-8, not one JSON object per line, has a record without {@code kind} or (for a write or
     *         query) {@code command}, or goes past a limit
     * @throws IOException when the file cannot be read
     */
    public static Recording read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        Reader reader;
        try {
            reader = new InputStreamReader(Files.newInputStream(file), utf8);
        } catch (NoSuchFileException e) {
            throw new RecordingException(file, 0, "no such file");
        }
        try (Reader in = reader) {
            return parse(file, in);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new RecordingException(file, 0, "not UTF-8 text (" + e + ")");
        }
    }

    private static Recording parse(Path file, Reader in) throws IOException {
        LineReader lines = new LineReader(in, file);
        Map<String, List<Step>> steps = new HashMap<>();
        int records = 0;
        int replayable = 0;
        int truncated = 0;
        int ignored = 0;
        long kept = 0;
        String line;
        while ((line = lines.next()) != null) {
            int number = lines.number();
            if (line.isBlank()) {
                continue;
            }
            if (++records > MAX_RECORDS) {
                throw new RecordingException(file, number, "more than " + MAX_RECORDS + " records");
            }
            JsonObject record = object(file, number, line);
            String kind = text(file, number, record, "kind", true);
            boolean query = kind.equals("QUERY") || kind.equals("QUERY_BLOCK");
            if (!query && !kind.equals("WRITE")) {
                ignored++;
                continue;
            }
            String command = text(file, number, record, "command", true);
            String outcome = text(file, number, record, "outcome", false);
            if (outcome != null && !outcome.equals("ok") && !outcome.equals("error")) {
                ignored++;
                continue;
            }
            String key = normalize(command);
            if (ERROR_QUERY.matcher(key).matches()) {
                ignored++;
                continue;
            }
            String answer = null;
            if (query) {
                if (flag(file, number, record, "truncated")) {
                    truncated++;
                    continue;
                }
                answer = answer(file, number, record, kind.equals("QUERY_BLOCK"));
                if (answer == null) {
                    ignored++; // a query that got no answer: as if never asked
                    continue;
                }
                kept += answer.length();
            }
            kept += key.length();
            if (kept > MAX_KEPT_CHARS) {
                throw new RecordingException(file, number, "more than " + MAX_KEPT_CHARS
                        + " characters of commands and answers in all");
            }
            List<String> errors = errors(file, number, record);
            steps.computeIfAbsent(key, k -> new ArrayList<>(1)).add(new Step(answer, errors));
            replayable++;
        }
        Map<String, List<Step>> frozen = new HashMap<>();
        steps.forEach((key, list) -> frozen.put(key, List.copyOf(list)));
        return new Recording(file, Map.copyOf(frozen), records, replayable, truncated, ignored);
    }

    private static JsonObject object(Path file, int number, String line) throws RecordingException {
        JsonElement element;
        try {
            element = JsonParser.parseString(line);
        } catch (JsonParseException e) {
            throw new RecordingException(file, number, "not JSON (" + e.getMessage() + ")");
        }
        if (!element.isJsonObject()) {
            throw new RecordingException(file, number, "not a JSON object");
        }
        return element.getAsJsonObject();
    }

    private static String text(Path file, int number, JsonObject record, String field, boolean required)
            throws RecordingException {
        JsonElement value = record.get(field);
        if (value == null || value.isJsonNull()) {
            if (required) {
                throw new RecordingException(file, number, "the record has no \"" + field + "\"");
            }
            return null;
        }
        if (!(value instanceof JsonPrimitive primitive) || !primitive.isString()) {
            throw new RecordingException(file, number, "\"" + field + "\" must be a string");
        }
        return primitive.getAsString();
    }

    private static boolean flag(Path file, int number, JsonObject record, String field) throws RecordingException {
        JsonElement value = record.get(field);
        if (value == null || value.isJsonNull()) {
            return false;
        }
        if (!(value instanceof JsonPrimitive primitive) || !primitive.isBoolean()) {
            throw new RecordingException(file, number, "\"" + field + "\" must be true or false");
        }
        return primitive.getAsBoolean();
    }

    /** The answer as bytes in a string (ISO-8859-1), a binary block answer wrapped as one; null when none. */
    private static String answer(Path file, int number, JsonObject record, boolean block) throws RecordingException {
        String encoded = text(file, number, record, "answerBase64", false);
        if (encoded != null) {
            byte[] bytes;
            try {
                bytes = BASE64.decode(encoded);
            } catch (IllegalArgumentException e) {
                throw new RecordingException(file, number, "\"answerBase64\" is not base64 (" + e.getMessage() + ")");
            }
            return new String(block && !isBlock(bytes) ? definiteBlock(bytes) : bytes, StandardCharsets.ISO_8859_1);
        }
        String text = text(file, number, record, "answer", false);
        if (text == null) {
            return null;
        }
        // Sent as the instrument sent it: SCPI answers are ASCII, other characters go out as ISO-8859-1 ('?' beyond)
        return new String(text.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.ISO_8859_1);
    }

    /** Whether the bytes are one whole definite-length block, {@code #<n><length><data>}. */
    static boolean isBlock(byte[] bytes) {
        if (bytes.length < 2 || bytes[0] != '#' || bytes[1] < '1' || bytes[1] > '9') {
            return false;
        }
        int digits = bytes[1] - '0';
        if (bytes.length < 2 + digits) {
            return false;
        }
        long length = 0;
        for (int i = 2; i < 2 + digits; i++) {
            if (bytes[i] < '0' || bytes[i] > '9') {
                return false;
            }
            length = length * 10 + (bytes[i] - '0');
        }
        return 2 + digits + length == bytes.length;
    }

    /** The payload as a definite-length block: {@code #<n><length><payload>}. */
    private static byte[] definiteBlock(byte[] payload) {
        String length = Integer.toString(payload.length);
        byte[] header = ("#" + length.length() + length).getBytes(StandardCharsets.US_ASCII);
        byte[] block = new byte[header.length + payload.length];
        System.arraycopy(header, 0, block, 0, header.length);
        System.arraycopy(payload, 0, block, header.length, payload.length);
        return block;
    }

    private static List<String> errors(Path file, int number, JsonObject record) throws RecordingException {
        JsonElement value = record.get("errors");
        if (value == null || value.isJsonNull()) {
            return List.of();
        }
        if (!value.isJsonArray()) {
            throw new RecordingException(file, number, "\"errors\" must be an array of strings");
        }
        JsonArray array = value.getAsJsonArray();
        List<String> errors = new ArrayList<>(array.size());
        for (JsonElement entry : array) {
            if (!(entry instanceof JsonPrimitive primitive) || !primitive.isString()) {
                throw new RecordingException(file, number, "\"errors\" must be an array of strings");
            }
            errors.add(primitive.getAsString());
        }
        return List.copyOf(errors);
    }

    /** A message as the replay compares it: upper case, whitespace runs as one space, stripped. */
    static String normalize(String message) {
        return WHITESPACE.matcher(message.strip()).replaceAll(" ").toUpperCase(Locale.ROOT);
    }

    /** The recorded steps of a {@linkplain #normalize normalized} message, in order; empty when none. */
    List<Step> steps(String normalized) {
        return steps.getOrDefault(normalized, List.of());
    }

    /** The file this was read from. */
    public Path file() {
        return file;
    }

    /** The records (non-blank lines) in the file. */
    public int records() {
        return records;
    }

    /** The queries and commands the replay answers from. */
    public int replayable() {
        return replayable;
    }

    /** The queries whose answer was recorded truncated, which the replay treats as never recorded. */
    public int truncated() {
        return truncated;
    }

    /** The records of other kinds or outcomes, and the {@code SYSTem:ERRor?} queries, which are not replayed. */
    public int ignored() {
        return ignored;
    }

    @Override
    public String toString() {
        return "Recording[" + file + ": " + records + " records, " + replayable + " replayable, " + truncated
                + " truncated answers not replayable, " + ignored + " ignored]";
    }

    /** Reads lines of at most {@link #MAX_LINE_CHARS} characters; LF or CRLF. */
    private static final class LineReader {
        private final Reader in;
        private final Path file;
        private final char[] buffer = new char[8192];
        private int position;
        private int limit;
        private int number;

        LineReader(Reader in, Path file) {
            this.in = in;
            this.file = file;
        }

        int number() {
            return number;
        }

        String next() throws IOException {
            StringBuilder line = new StringBuilder();
            boolean any = false;
            while (true) {
                if (position == limit) {
                    limit = in.read(buffer, 0, buffer.length);
                    position = 0;
                    if (limit <= 0) {
                        limit = 0;
                        if (!any) {
                            return null;
                        }
                        number++;
                        return line.toString();
                    }
                }
                any = true;
                int start = position;
                while (position < limit && buffer[position] != '\n') {
                    position++;
                }
                if (line.length() + (position - start) > MAX_LINE_CHARS) {
                    throw new RecordingException(file, number + 1, "line longer than " + MAX_LINE_CHARS + " characters");
                }
                line.append(buffer, start, position - start);
                if (position < limit) {
                    position++; // the '\n'
                    number++;
                    int end = line.length();
                    if (end > 0 && line.charAt(end - 1) == '\r') {
                        line.setLength(end - 1);
                    }
                    return line.toString();
                }
            }
        }
    }
}
