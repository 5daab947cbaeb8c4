package org.labhal.transport.serial.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.serial.NoSuchPortException;

import com.fazecast.jSerialComm.SerialPort;

/** Options to line settings and resources to device paths, without touching a port. */
class LineSettingsTest {

    private static LineSettings posix(String resource) throws LabHalException {
        return LineSettings.of(ResourceAddress.parse(resource), false);
    }

    @Test
    void visaDefaults() throws Exception {
        LineSettings s = posix("ASRL/dev/ttyUSB0::INSTR");
        assertEquals(9600, s.baud());
        assertEquals(8, s.dataBits());
        assertEquals(SerialPort.NO_PARITY, s.parity());
        assertEquals(SerialPort.ONE_STOP_BIT, s.stopBits());
        assertEquals(SerialPort.FLOW_CONTROL_DISABLED, s.flow());
        assertArrayEquals(new byte[] {'\n'}, s.writeTermination());
        assertEquals('\n', s.readTermination());
        assertEquals(Duration.ofMillis(100), s.drainQuiet());
        assertEquals("9600 8N1", s.summary());
    }

    @Test
    void everyOptionMaps() throws Exception {
        LineSettings s = posix("ASRL/dev/ttyUSB0::INSTR?baud=115200&data_bits=7&parity=mark&stop_bits=2&flow=xonxoff"
                + "&write_termination=crlf&read_termination=cr&drain_ms=0");
        assertEquals(115200, s.baud());
        assertEquals(7, s.dataBits());
        assertEquals(SerialPort.MARK_PARITY, s.parity());
        assertEquals(SerialPort.TWO_STOP_BITS, s.stopBits());
        assertEquals(SerialPort.FLOW_CONTROL_XONXOFF_IN_ENABLED | SerialPort.FLOW_CONTROL_XONXOFF_OUT_ENABLED, s.flow());
        assertArrayEquals(new byte[] {'\r', '\n'}, s.writeTermination());
        assertEquals('\r', s.readTermination());
        assertEquals(Duration.ZERO, s.drainQuiet());
        assertEquals("115200 7M2 xonxoff", s.summary());
        assertEquals(SerialPort.FLOW_CONTROL_RTS_ENABLED | SerialPort.FLOW_CONTROL_CTS_ENABLED,
                posix("ASRL1::INSTR?flow=rtscts").flow());
        assertEquals('\n', posix("ASRL1::INSTR?read_termination=crlf").readTermination(), "CR LF ends at the LF");
        assertArrayEquals(new byte[0], posix("ASRL1::INSTR?write_termination=none").writeTermination());
    }

    @Test
    void lineTimeCountsTwelveBitsPerByte() throws Exception {
        assertEquals(Duration.ofMillis(1_000), posix("ASRL1::INSTR?baud=9600").lineTime(800));
        assertEquals(Duration.ofNanos(4096L * 12 * 1_000_000_000L / 115200), posix("ASRL1::INSTR?baud=115200")
                .lineTime(4096));
    }

    @Test
    void settingsPosixCannotMakeAreRefusedNotFaked() throws Exception {
        LabHalException e = assertThrows(LabHalException.class, () -> posix("ASRL1::INSTR?stop_bits=1.5"));
        assertTrue(e.getMessage().contains("stop_bits=1.5") && e.getMessage().contains("ASRL1::INSTR"), e.getMessage());
        e = assertThrows(LabHalException.class, () -> posix("ASRL1::INSTR?flow=dsrdtr"));
        assertTrue(e.getMessage().contains("flow=dsrdtr"), e.getMessage());
        ResourceAddress windowsOnly = ResourceAddress.parse("ASRLCOM3::INSTR?stop_bits=1.5&flow=dsrdtr");
        LineSettings s = LineSettings.of(windowsOnly, true);
        assertEquals(SerialPort.ONE_POINT_FIVE_STOP_BITS, s.stopBits());
        assertEquals(SerialPort.FLOW_CONTROL_DSR_ENABLED | SerialPort.FLOW_CONTROL_DTR_ENABLED, s.flow());
    }

    @Test
    void visaPortNumbersStartAtOne() throws Exception {
        SerialTransportFactory transport = new SerialTransportFactory();
        try {
            assertEquals("/dev/ttyS0", transport.devicePath(ResourceAddress.parse("ASRL1::INSTR")));
            assertEquals("/dev/ttyS3", transport.devicePath(ResourceAddress.parse("ASRL4::INSTR")));
            assertEquals("/dev/ttyUSB0", transport.devicePath(ResourceAddress.parse("ASRL/dev/ttyUSB0::INSTR")));
            NoSuchPortException e = assertThrows(NoSuchPortException.class,
                    () -> transport.devicePath(ResourceAddress.parse("ASRL0::INSTR")));
            assertTrue(e.getMessage().contains("ASRL1"), e.getMessage());
        } finally {
            transport.deactivate();
        }
    }
}
