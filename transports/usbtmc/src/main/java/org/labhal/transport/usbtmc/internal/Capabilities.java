package org.labhal.transport.usbtmc.internal;

/**
 * What a device said of itself in its GET_CAPABILITIES response (USBTMC table 37, USB488 table 8).
 *
 * @param termChar the device can end a Bulk-IN transfer at a TermChar
 * @param listenOnly the interface only listens (no Bulk-IN answers)
 * @param talkOnly the interface only talks
 * @param usb488 the interface is USB488 (bInterfaceProtocol 1)
 * @param renControl USB488 REN_CONTROL, GO_TO_LOCAL and LOCAL_LOCKOUT are supported
 * @param trigger the USB488 TRIGGER bulk message is supported
 */
record Capabilities(boolean termChar, boolean listenOnly, boolean talkOnly, boolean usb488, boolean renControl,
        boolean trigger) {

    /**
     * @param r the response, at least {@link Usbtmc#CAPABILITIES_SIZE} bytes, status already checked
     * @param usb488 whether the interface protocol is USB488
     */
    static Capabilities parse(byte[] r, boolean usb488) {
        int interfaceCaps = r[4] & 0xFF;
        int deviceCaps = r[5] & 0xFF;
        int usb488InterfaceCaps = usb488 ? r[14] & 0xFF : 0;
        return new Capabilities((deviceCaps & 0x01) != 0, (interfaceCaps & 0x01) != 0, (interfaceCaps & 0x02) != 0,
                usb488, (usb488InterfaceCaps & 0x02) != 0, (usb488InterfaceCaps & 0x01) != 0);
    }
}
