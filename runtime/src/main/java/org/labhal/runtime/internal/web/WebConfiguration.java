package org.labhal.runtime.internal.web;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Settings of the web dashboard and its JSON API (configuration PID {@value WebGuard#PID}). */
@ObjectClassDefinition(name = "LabHAL web dashboard", description = "Security and limits of the dashboard and "
        + "its JSON API, served by the OSGi HTTP whiteboard on org.apache.felix.http.host:org.osgi.service.http.port")
@interface WebConfiguration {
    @AttributeDefinition(name = "Token", description = "Credential every request must carry, as "
            + "'Authorization: Bearer <token>' or basic auth with the token as password. Empty: none, and then "
            + "the dashboard serves only requests that reach it on a loopback address. The run property "
            + "labhal.web.token gives one too.", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
    String token() default "";

    @AttributeDefinition(name = "Event clients", description = "Most server-sent-event streams served at once; "
            + "more are refused with 503")
    int maxEventClients() default 16;

    @AttributeDefinition(name = "Event queue", description = "Events kept per event client that reads slowly; "
            + "beyond that they are dropped and counted")
    int eventQueue() default 1000;

    @AttributeDefinition(name = "Request body limit", description = "Largest request body in bytes; a larger one "
            + "is refused with 413")
    int maxBody() default 65536;
}
