package org.labhal.itest.runtime.echo;

import org.labhal.api.LabHalException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * The driver type of the test driver bundle ({@code target/echo-driver.jar}): one call is one
 * {@code SIM:ECHO?} step, whose answer is its own token, so a misrouted answer is caught.
 */
@ConsumerType
public interface Echo {

    /**
     * @param token letters and digits
     * @return the instrument's answer, which must be the token
     * @throws LabHalException when the step fails
     */
    String echo(String token) throws LabHalException;
}
