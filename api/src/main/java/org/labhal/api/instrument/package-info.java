/**
 * Instrument models and drivers: what a driver bundle registers ({@link org.labhal.api.instrument.InstrumentModel}),
 * the generic SCPI / IEEE 488.2 base every driver builds on ({@link org.labhal.api.instrument.ScpiInstrument}),
 * typed driver interfaces, and the {@link org.labhal.api.instrument.Instrument} services the runtime registers
 * for configured instruments.
 */
@Export
@Version("1.1.0")
package org.labhal.api.instrument;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
