package org.labhal.transport.usbtmc;

import java.time.Duration;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The host-side view of one claimed USB interface: the few transfers and descriptor facts a USBTMC or
 * raw bulk transport needs, and nothing of any USB library. The protocol engine runs over this
 * interface unchanged, on libusb and on the {@link SimulatedUsb488Device simulated device}.
 *
 * <p>Transfers are synchronous and bounded by their timeout (a positive duration). A transfer ends when
 * {@code length} bytes moved or, for IN transfers, when the device ended it with a short packet: the
 * return value is then less than asked. Waiting transfers end with {@link InterruptedException} when the
 * calling thread is interrupted (the flag is then clear, as usual for that exception) and with a
 * {@link UsbException.Kind#CLOSED} failure when {@link #close()} is called from another thread.
 *
 * <p>Threads: one transfer per endpoint at a time; {@link #close()} from any thread at any time.
 */
@ConsumerType
public interface UsbDevice extends AutoCloseable {

    /** Control request type bits: device to host, class request, recipient interface. */
    int CLASS_INTERFACE_IN = 0xA1;
    /** Control request type bits: device to host, class request, recipient endpoint. */
    int CLASS_ENDPOINT_IN = 0xA2;

    /** @return for messages, e.g. {@code USB 0x0957:0x1796 serial MY123 interface 0} */
    String describe();

    /** @return the {@code iSerialNumber} string of the device, empty when it has none */
    String serialNumber();

    /** @return the claimed interface's {@code bInterfaceNumber} */
    int interfaceNumber();

    /** @return the claimed interface's {@code bInterfaceProtocol}: 0 USBTMC, 1 USB488 */
    int interfaceProtocol();

    /** @return the Bulk-OUT endpoint address, e.g. {@code 0x02} */
    int bulkOutEndpoint();

    /** @return the Bulk-IN endpoint address, e.g. {@code 0x81} */
    int bulkInEndpoint();

    /** @return the Interrupt-IN endpoint address, or -1 when the interface has none */
    int interruptInEndpoint();

    /** @return {@code wMaxPacketSize} of the Bulk-OUT endpoint */
    int bulkOutMaxPacketSize();

    /** @return {@code wMaxPacketSize} of the Bulk-IN endpoint */
    int bulkInMaxPacketSize();

    /**
     * A control transfer from device to host on the default pipe (USBTMC and USB488 class requests).
     *
     * @param requestType {@code bmRequestType}, e.g. {@link #CLASS_INTERFACE_IN}
     * @param request {@code bRequest}
     * @param value {@code wValue}
     * @param index {@code wIndex}
     * @param into receives the data stage; its length is {@code wLength}
     * @param timeout bounds the transfer
     * @return how many bytes the device sent
     * @throws UsbException when the transfer failed; {@link UsbException.Kind#STALL} when the device
     *         refused the request
     * @throws InterruptedException when the calling thread was interrupted while waiting
     */
    int controlIn(int requestType, int request, int value, int index, byte[] into, Duration timeout)
            throws UsbException, InterruptedException;

    /**
     * Sends bytes on the Bulk-OUT endpoint as one transfer.
     *
     * @return how many bytes the device accepted (all of them on success)
     * @throws UsbException on failure; {@link UsbException#transferred()} tells how many went out
     * @throws InterruptedException when interrupted while the device did not take the data
     */
    int bulkOut(byte[] data, int offset, int length, Duration timeout) throws UsbException, InterruptedException;

    /**
     * Receives one transfer, or its next part, from the Bulk-IN endpoint.
     *
     * @param length the most to receive; a multiple of {@link #bulkInMaxPacketSize()}
     * @return how many bytes arrived: less than {@code length} when a short packet ended the transfer
     *         (also when the part of a transfer received so far ended exactly at a packet boundary)
     * @throws UsbException on failure, {@link UsbException.Kind#TIMEOUT} when nothing or not enough
     *         arrived in time
     * @throws InterruptedException when interrupted while waiting
     */
    int bulkIn(byte[] into, int offset, int length, Duration timeout) throws UsbException, InterruptedException;

    /**
     * Receives one packet from the Interrupt-IN endpoint.
     *
     * @return how many bytes arrived
     * @throws UsbException on failure, also when the interface has no Interrupt-IN endpoint
     * @throws InterruptedException when interrupted while waiting
     */
    int interruptIn(byte[] into, int offset, int length, Duration timeout) throws UsbException, InterruptedException;

    /**
     * Clears the halt of an endpoint (standard CLEAR_FEATURE ENDPOINT_HALT), which also resets its
     * data toggle.
     *
     * @param endpoint the endpoint address
     * @throws UsbException when the request failed
     * @throws InterruptedException when interrupted while waiting
     */
    void clearHalt(int endpoint, Duration timeout) throws UsbException, InterruptedException;

    /** Releases the interface and the device handle; idempotent; wakes waiting transfers. */
    @Override
    void close();
}
