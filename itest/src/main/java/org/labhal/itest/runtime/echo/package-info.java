/** The driver type the test driver bundle implements; exported so that it and the tests share it. */
@Export
@Version("1.0.0")
package org.labhal.itest.runtime.echo;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
