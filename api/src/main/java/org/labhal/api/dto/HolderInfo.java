package org.labhal.api.dto;

import java.time.Duration;
import java.time.Instant;

/**
 * Who holds a lock, as seen at one moment.
 *
 * @param thread the holding thread's name
 * @param threadId the holding thread's id
 * @param activity what the holder said it is doing (empty if it said nothing)
 * @param since when it took the lock
 * @param heldFor how long it had held the lock when this snapshot was taken
 * @param holdCount how many nested leases it holds
 */
public record HolderInfo(String thread, long threadId, String activity, Instant since, Duration heldFor,
        int holdCount) {
}
