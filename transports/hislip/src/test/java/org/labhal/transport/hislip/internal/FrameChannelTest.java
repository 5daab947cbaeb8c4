package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.nio.ByteBuffer;
import java.nio.channels.IllegalSelectorException;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.SelectorProvider;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.sun.management.UnixOperatingSystemMXBean;

/** {@link FrameChannel} on its own. */
class FrameChannelTest {

    /**
     * A channel that the JDK's selectors refuse to register (it is not one of their own), so that
     * {@link FrameChannel}'s constructor fails after it opened its selectors.
     */
    private static final class UnregistrableChannel extends SocketChannel {
        UnregistrableChannel() {
            super(SelectorProvider.provider());
        }

        @Override
        protected void implConfigureBlocking(boolean block) {
            // nothing to configure
        }

        @Override
        protected void implCloseSelectableChannel() {
            // nothing to release
        }

        @Override
        public <T> SocketChannel setOption(SocketOption<T> name, T value) {
            return this;
        }

        @Override
        public <T> T getOption(SocketOption<T> name) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Set<SocketOption<?>> supportedOptions() {
            return Set.of();
        }

        @Override
        public SocketChannel bind(SocketAddress local) {
            throw new UnsupportedOperationException();
        }

        @Override
        public SocketChannel shutdownInput() {
            throw new UnsupportedOperationException();
        }

        @Override
        public SocketChannel shutdownOutput() {
            throw new UnsupportedOperationException();
        }

        @Override
        public Socket socket() {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean isConnected() {
            return false;
        }

        @Override
        public boolean isConnectionPending() {
            return false;
        }

        @Override
        public boolean connect(SocketAddress remote) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean finishConnect() {
            throw new UnsupportedOperationException();
        }

        @Override
        public SocketAddress getRemoteAddress() {
            return null;
        }

        @Override
        public SocketAddress getLocalAddress() {
            return null;
        }

        @Override
        public int read(ByteBuffer dst) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int write(ByteBuffer src) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            throw new UnsupportedOperationException();
        }
    }

    private static long openDescriptors() {
        return ((UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getOpenFileDescriptorCount();
    }

    /** Issue 10, defect 12: the constructor used to leak the second selector when register failed. */
    @Test
    void aChannelThatCannotBeRegisteredLeaksNoSelector() throws IOException {
        for (int i = 0; i < 5; i++) { // warm up: descriptors the JDK opens once
            assertThrows(IllegalSelectorException.class, () -> FrameChannel.of(new UnregistrableChannel()));
        }
        long before = openDescriptors();
        for (int i = 0; i < 100; i++) {
            UnregistrableChannel channel = new UnregistrableChannel();
            assertThrows(IllegalSelectorException.class, () -> FrameChannel.of(channel));
            assertTrue(!channel.isOpen(), "the channel is closed");
        }
        long grew = openDescriptors() - before;
        assertTrue(grew < 20, "100 failed constructions left " + grew + " more open file descriptors");
    }
}
