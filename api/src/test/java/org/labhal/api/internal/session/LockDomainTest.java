package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.lock.LockPolicy;

/** A configured lock domain replaces the one the resource names, for sharing and for keeping apart. */
class LockDomainTest {
    private static final String PORT_1 = "TCPIP::ds.lab::4001::SOCKET";
    private static final String PORT_2 = "TCPIP::ds.lab::4002::SOCKET";

    private final DefaultSessionFactory factory = FixedTransport.factoryFor(new PlainLink());

    private Session open(String resource, SessionOptions options) throws Exception {
        return factory.open(ResourceAddress.parse(resource), options.withLockPolicy(LockPolicy.SHARED_BUFFER));
    }

    @Test
    void twoPortsOfOneDeviceServerShareTheHostsLockUnlessEachNamesItsOwnDomain() throws Exception {
        SessionOptions defaults = SessionOptions.defaults();
        try (Session a = open(PORT_1, defaults); Session b = open(PORT_2, defaults)) {
            assertSame(a.lock(), b.lock(), "the safe default: one host, one domain");
            assertEquals("TCPIP::ds.lab", a.lock().name());
        }
        try (Session a = open(PORT_1, defaults.withLockDomain("bench-psu"));
                Session b = open(PORT_2, defaults.withLockDomain("bench-dmm"));
                Session c = open("TCPIP::10.0.0.9::5025::SOCKET", defaults.withLockDomain("bench-dmm"))) {
            assertNotSame(a.lock(), b.lock());
            assertEquals("bench-psu", a.lock().name());
            assertSame(b.lock(), c.lock(), "two resources configured into one domain share its lock");
        }
    }

    @Test
    void aBlankOrPaddedDomainIsRefusedNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SessionOptions.defaults().withLockDomain(" bench"));
        assertTrue(e.getMessage().contains("' bench'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SessionOptions.defaults().withLockDomain(""));
        assertEquals(SessionOptions.defaults().lockDomain(), SessionOptions.defaults().withLockDomain(null).lockDomain());
    }
}
