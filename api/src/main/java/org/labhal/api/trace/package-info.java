/**
 * Watching the steps of sessions as they happen: a {@link org.labhal.api.trace.StepObserver} given to
 * {@link org.labhal.api.SessionOptions#withStepObserver} is told of every step a session makes, one
 * {@link org.labhal.api.trace.StepRecord} each, with its timings, what was sent, what came back and how it
 * ended. The runtime builds its traffic trace, statistics and recordings on it.
 */
@Export
@Version("1.0.0")
package org.labhal.api.trace;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
