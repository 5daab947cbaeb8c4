package org.labhal.driver.shared.internal;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.transport.sim.internal.SimTransportFactory;

/** The session factory over the SIM transport, built with {@code new} as DS would build it. */
final class SimLab implements AutoCloseable {
    private final SimTransportFactory transport = new SimTransportFactory();
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());

    SimLab() {
        sessions.addTransport(transport);
    }

    /** Opens a session with the model's policy and quirks, as the runtime does for an instrument. */
    ScpiInstrument connect(String resource, InstrumentModel model) throws LabHalException {
        Session session = sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults()
                .withLockPolicy(model.lockPolicy()).withIoTimeout(model.quirks().ioTimeout())
                .withErrorChecking(model.quirks().errorChecking()));
        return new ScpiInstrument(session, model.quirks());
    }

    @Override
    public void close() {
        sessions.deactivate();
        transport.deactivate();
    }
}
