package org.labhal.runtime.internal.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.lock.LockPolicy;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

class ModelCatalogTest {

    private static InstrumentModel model(String name) {
        return (InstrumentModel) Proxy.newProxyInstance(ModelCatalogTest.class.getClassLoader(),
                new Class<?>[] { InstrumentModel.class }, (proxy, method, args) -> switch (method.getName()) {
                    case "name" -> name;
                    case "description" -> "a test model";
                    case "lockPolicy" -> LockPolicy.SHARED_BUFFER;
                    case "quirks" -> ModelQuirks.defaults();
                    case "driverTypes" -> Set.of();
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> null;
                });
    }

    @SuppressWarnings("unchecked")
    private static ServiceReference<InstrumentModel> reference(long id) {
        return (ServiceReference<InstrumentModel>) Proxy.newProxyInstance(ModelCatalogTest.class.getClassLoader(),
                new Class<?>[] { ServiceReference.class }, (proxy, method, args) -> switch (method.getName()) {
                    case "getProperty" -> Constants.SERVICE_ID.equals(args[0]) ? (Object) id : null;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> null;
                });
    }

    /** Two instruments draining their driver calls as the model goes: each waits for the other to start. */
    @Test
    void instrumentsLetGoOfARemovedModelTogetherNotOneAfterAnother() throws Exception {
        try (RuntimeFixture runtime = new RuntimeFixture()) {
            ModelCatalog catalog = runtime.catalog;
            InstrumentModel model = model("meter");
            ServiceReference<InstrumentModel> reference = reference(7);
            catalog.addModel(model, reference);
            CountDownLatch bothDraining = new CountDownLatch(2);
            List<Boolean> sawTheOther = new CopyOnWriteArrayList<>();
            for (int i = 0; i < 2; i++) {
                catalog.subscribe(new ModelCatalog.Listener() {
                    @Override
                    public void modelAdded(ModelCatalog.Entry entry) {
                    }

                    @Override
                    public void modelRemoved(ModelCatalog.Entry entry) {
                        bothDraining.countDown();
                        try {
                            sawTheOther.add(bothDraining.await(5, TimeUnit.SECONDS));
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
            }
            catalog.removeModel(model, reference);
            assertEquals(List.of(true, true), sawTheOther, "each listener saw the other draining at the same time");
            assertTrue(catalog.models().isEmpty());
        }
    }
}
