package org.labhal.transport.serial.internal;

import java.io.IOException;

import com.fazecast.jSerialComm.SerialPort;

/**
 * Run in a second JVM by the port-in-use test: opens a serial port the way any jSerialComm program
 * does (with its exclusive lock), says {@code HELD} on stdout and keeps the port until stdin ends.
 */
public final class PortHolder {
    private PortHolder() {
    }

    public static void main(String[] args) throws IOException {
        SerialPort port = SerialPort.getCommPort(args[0]);
        if (!port.openPort(0)) {
            System.out.println("FAILED " + port.getLastErrorCode());
            return;
        }
        System.out.println("HELD");
        System.out.flush();
        while (System.in.read() >= 0) {
            // hold the port until the test closes our stdin or kills us
        }
        port.closePort();
    }
}
