package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad recordings are refused with the file and line at fault. */
class RecordingTest {

    private static final String QUERY = "{\"kind\":\"QUERY\",\"command\":\"FREQ?\",\"answer\":\"1\",\"outcome\":\"ok\",\"errors\":[]}\n";

    @TempDir
    Path folder;

    private RecordingException refused(String text) throws IOException {
        Path file = folder.resolve("bad.jsonl");
        Files.writeString(file, text, StandardCharsets.UTF_8);
        RecordingException e = assertThrows(RecordingException.class, () -> Recording.read(file));
        assertTrue(e.getMessage().contains(file.toAbsolutePath().toString()), e::getMessage);
        assertEquals(file, e.file());
        return e;
    }

    @Test
    void aMissingFileIsNamed() {
        Path file = folder.resolve("nowhere.jsonl");
        RecordingException e = assertThrows(RecordingException.class, () -> Recording.read(file));
        assertEquals("recording " + file.toAbsolutePath() + ": no such file", e.getMessage());
    }

    @Test
    void aLineThatIsNotJsonIsNamed() throws IOException {
        RecordingException e = refused(QUERY + "\n" + "{\"kind\":\"QUERY\", oops\n" + QUERY);
        assertEquals(3, e.line(), e::getMessage);
        assertTrue(e.getMessage().contains(" line 3: not JSON"), e::getMessage);
    }

    @Test
    void aRecordWithoutKindOrCommandIsNamed() throws IOException {
        RecordingException kind = refused(QUERY + "{\"command\":\"FREQ?\",\"answer\":\"1\"}\n");
        assertEquals(2, kind.line());
        assertTrue(kind.getMessage().endsWith("line 2: the record has no \"kind\""), kind::getMessage);
        RecordingException command = refused("{\"kind\":\"WRITE\",\"outcome\":\"ok\"}\n");
        assertEquals(1, command.line());
        assertTrue(command.getMessage().endsWith("line 1: the record has no \"command\""), command::getMessage);
    }

    @Test
    void aRecordThatIsNotAnObjectOrHasBadFieldsIsNamed() throws IOException {
        assertTrue(refused("[1,2]\n").getMessage().endsWith("line 1: not a JSON object"));
        assertTrue(refused("{\"kind\":5,\"command\":\"X\"}\n").getMessage().endsWith("\"kind\" must be a string"));
        assertTrue(refused("{\"kind\":\"QUERY_BLOCK\",\"command\":\"X?\",\"answerBase64\":\"!!\",\"outcome\":\"ok\"}\n")
                .getMessage().contains("line 1: \"answerBase64\" is not base64"));
        assertTrue(refused(QUERY.replace("[]", "[1]")).getMessage().endsWith("\"errors\" must be an array of strings"));
    }

    @Test
    void anOversizeLineIsRefusedWithoutReadingItWhole() throws IOException {
        Path file = folder.resolve("huge.jsonl");
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write(QUERY);
            out.write("{\"kind\":\"QUERY\",\"command\":\"X?\",\"answer\":\"");
            char[] chunk = new char[1 << 16];
            java.util.Arrays.fill(chunk, 'a');
            for (int written = 0; written <= Recording.MAX_LINE_CHARS; written += chunk.length) {
                out.write(chunk);
            }
            out.write("\"}\n");
        }
        RecordingException e = assertThrows(RecordingException.class, () -> Recording.read(file));
        assertEquals(2, e.line());
        assertTrue(e.getMessage().endsWith("line 2: line longer than " + Recording.MAX_LINE_CHARS + " characters"),
                e::getMessage);
    }

    @Test
    void notUtf8IsRefused() throws IOException {
        Path file = folder.resolve("latin.jsonl");
        Files.write(file, new byte[] { '{', '"', (byte) 0xE9, '"', '}', '\n' });
        RecordingException e = assertThrows(RecordingException.class, () -> Recording.read(file));
        assertTrue(e.getMessage().contains("not UTF-8"), e::getMessage);
    }

    @Test
    void blankLinesUnknownKindsAndCrlfAreAccepted() throws IOException {
        Path file = folder.resolve("ok.jsonl");
        Files.writeString(file, "\n" + QUERY.replace("\n", "\r\n") + "{\"kind\":\"NEW_KIND_OF_2030\"}\n\n",
                StandardCharsets.UTF_8);
        Recording recording = Recording.read(file);
        assertEquals(2, recording.records());
        assertEquals(1, recording.replayable());
        assertEquals(1, recording.ignored());
        assertEquals(1, recording.steps("FREQ?").size());
    }

    @Test
    void messagesAreComparedScpiWise() {
        assertEquals("SOUR:FREQ 1E9", Recording.normalize(" \tsour:freq \t  1e9 \r"));
    }
}
