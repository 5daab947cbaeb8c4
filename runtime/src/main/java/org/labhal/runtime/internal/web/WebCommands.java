package org.labhal.runtime.internal.web;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code instr:web}: where the dashboard is served and how it is secured. */
@Component(service = WebCommands.class)
@GogoCommand(scope = "instr", function = { "web" })
public final class WebCommands {
    private final WebDashboard dashboard;

    /** @param dashboard the dashboard */
    @Activate
    public WebCommands(@Reference WebDashboard dashboard) {
        this.dashboard = dashboard;
    }

    /** @return the dashboard's URL, credential and event streams */
    @Descriptor("show the web dashboard's URL, its credential setting and its open event streams")
    public String web() {
        return dashboard.describe();
    }
}
