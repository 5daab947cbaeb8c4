package org.labhal.api.dto;

import java.time.Duration;

import org.labhal.api.lock.Priority;

/**
 * A thread queued for a lock, as seen at one moment.
 *
 * @param thread the waiting thread's name
 * @param threadId the waiting thread's id
 * @param activity what it wants to do once it has the lock (empty if it said nothing)
 * @param priority the priority it asked with (aging not included)
 * @param waiting how long it had waited when this snapshot was taken
 */
public record WaiterInfo(String thread, long threadId, String activity, Priority priority, Duration waiting) {
}
