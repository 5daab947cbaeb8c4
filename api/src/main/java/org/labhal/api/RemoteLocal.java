package org.labhal.api;

/**
 * Remote and local operation of an instrument: whether its front panel or the bus controls it. The
 * modes are those of IEEE 488.1's REN line and GTL / LLO messages, and of VISA's {@code viGpibControlREN};
 * USB488 ({@code REN_CONTROL}, {@code GO_TO_LOCAL}, {@code LOCAL_LOCKOUT}), HiSLIP
 * ({@code AsyncRemoteLocalControl}) and VXI-11 ({@code device_remote}, {@code device_local}) carry the
 * same modes, and each transport's README says what its controller cannot do.
 *
 * @since 1.3
 */
public enum RemoteLocal {

    /** Assert REN and address the instrument: it goes remote (VISA {@code VI_GPIB_REN_ASSERT_ADDRESS}). */
    REMOTE,

    /**
     * Address the instrument and send Go To Local: its front panel works again; REN stays asserted, so the
     * next message puts it back in remote (VISA {@code VI_GPIB_REN_ADDRESS_GTL}).
     */
    LOCAL,

    /**
     * Assert REN, address the instrument and send Local Lockout: remote, with the front panel's LOCAL key
     * disabled too (VISA {@code VI_GPIB_REN_ASSERT_ADDRESS_LLO}).
     */
    LOCAL_LOCKOUT,

    /**
     * Deassert REN: the instrument (on GPIB, every instrument on the bus) goes local and any lockout ends
     * (VISA {@code VI_GPIB_REN_DEASSERT}).
     */
    RELEASE
}
