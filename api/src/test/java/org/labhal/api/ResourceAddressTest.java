package org.labhal.api;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ResourceAddressTest {

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
        # input                                                   | kind   | canonical                                              | domain key
        TCPIP::10.0.0.5::5025::SOCKET                             | SOCKET | TCPIP0::10.0.0.5::5025::SOCKET                         | TCPIP::10.0.0.5
        tcpip::10.0.0.5::5025::socket                             | SOCKET | TCPIP0::10.0.0.5::5025::SOCKET                         | TCPIP::10.0.0.5
        TCPIP3::10.0.0.5::05025::SOCKET                           | SOCKET | TCPIP3::10.0.0.5::5025::SOCKET                         | TCPIP::10.0.0.5
        TCPIP::0.0.0.0::1::SOCKET                                 | SOCKET | TCPIP0::0.0.0.0::1::SOCKET                             | TCPIP::0.0.0.0
        TCPIP::255.255.255.255::65535::SOCKET                     | SOCKET | TCPIP0::255.255.255.255::65535::SOCKET                 | TCPIP::255.255.255.255
        TCPIP::Scope-1.Lab.Example.COM::5025::SOCKET              | SOCKET | TCPIP0::scope-1.lab.example.com::5025::SOCKET          | TCPIP::scope-1.lab.example.com
        TCPIP::[FE80::1]::5025::SOCKET                            | SOCKET | TCPIP0::[fe80::1]::5025::SOCKET                        | TCPIP::[fe80::1]
        TCPIP::beef::1234::SOCKET                                 | SOCKET | TCPIP0::beef::1234::SOCKET                             | TCPIP::beef
        TCPIP::10.0.0.5::INSTR                                    | VXI11  | TCPIP0::10.0.0.5::inst0::INSTR                         | TCPIP::10.0.0.5
        TCPIP0::10.0.0.5::inst0::INSTR                            | VXI11  | TCPIP0::10.0.0.5::inst0::INSTR                         | TCPIP::10.0.0.5
        TcpIp2::DMM.lab::INST3::instr                             | VXI11  | TCPIP2::dmm.lab::inst3::INSTR                          | TCPIP::dmm.lab
        TCPIP::localhost::INSTR                                   | VXI11  | TCPIP0::localhost::inst0::INSTR                        | TCPIP::localhost
        TCPIP::3com.lab::INSTR                                    | VXI11  | TCPIP0::3com.lab::inst0::INSTR                         | TCPIP::3com.lab
        TCPIP::instr::INSTR                                       | VXI11  | TCPIP0::instr::inst0::INSTR                            | TCPIP::instr
        TCPIP::[2001:0DB8:0:0:0:0:0:1]::INSTR                     | VXI11  | TCPIP0::[2001:db8::1]::inst0::INSTR                    | TCPIP::[2001:db8::1]
        TCPIP::[2001:db8:0:0:1:0:0:1]::INSTR                      | VXI11  | TCPIP0::[2001:db8::1:0:0:1]::inst0::INSTR              | TCPIP::[2001:db8::1:0:0:1]
        TCPIP::[2001:db8:0:1:1:1:1:1]::INSTR                      | VXI11  | TCPIP0::[2001:db8:0:1:1:1:1:1]::inst0::INSTR           | TCPIP::[2001:db8:0:1:1:1:1:1]
        TCPIP::[1:0:0:2:0:0:0:3]::INSTR                           | VXI11  | TCPIP0::[1:0:0:2::3]::inst0::INSTR                     | TCPIP::[1:0:0:2::3]
        TCPIP::[::]::INSTR                                        | VXI11  | TCPIP0::[::]::inst0::INSTR                             | TCPIP::[::]
        TCPIP::[1::]::INSTR                                       | VXI11  | TCPIP0::[1::]::inst0::INSTR                            | TCPIP::[1::]
        TCPIP::[fe80::1%eth0]::INSTR                              | VXI11  | TCPIP0::[fe80::1%eth0]::inst0::INSTR                   | TCPIP::[fe80::1%eth0]
        TCPIP::[::ffff:10.0.0.5]::INSTR                           | VXI11  | TCPIP0::[::ffff:10.0.0.5]::inst0::INSTR                | TCPIP::[::ffff:10.0.0.5]
        TCPIP::[::FFFF:a00:5]::INSTR                              | VXI11  | TCPIP0::[::ffff:10.0.0.5]::inst0::INSTR                | TCPIP::[::ffff:10.0.0.5]
        TCPIP::[64:ff9b::10.0.0.5]::INSTR                         | VXI11  | TCPIP0::[64:ff9b::a00:5]::inst0::INSTR                 | TCPIP::[64:ff9b::a00:5]
        TCPIP::gw.lab::gpib0,5::INSTR                             | VXI11  | TCPIP0::gw.lab::gpib0,5::INSTR                         | TCPIP::gw.lab::gpib0,5
        TCPIP1::GW.LAB::GPIB1,30::INSTR                           | VXI11  | TCPIP1::gw.lab::gpib1,30::INSTR                        | TCPIP::gw.lab::gpib1,30
        TCPIP::gw.lab::gpib0,00::INSTR                            | VXI11  | TCPIP0::gw.lab::gpib0,0::INSTR                         | TCPIP::gw.lab::gpib0,0
        TCPIP::10.0.0.5::hislip0::INSTR                           | HISLIP | TCPIP0::10.0.0.5::hislip0::INSTR                       | TCPIP::10.0.0.5
        TCPIP::10.0.0.5::hislip0,4880::INSTR                      | HISLIP | TCPIP0::10.0.0.5::hislip0::INSTR                       | TCPIP::10.0.0.5
        TCPIP7::10.0.0.5::HiSLIP1,4881::INSTR                     | HISLIP | TCPIP7::10.0.0.5::hislip1,4881::INSTR                  | TCPIP::10.0.0.5
        TCPIP::[::1]::hislip0::INSTR                              | HISLIP | TCPIP0::[::1]::hislip0::INSTR                          | TCPIP::[::1]
        ASRL1::INSTR                                              | SERIAL | ASRL1::INSTR                                           | ASRL::1
        asrl07::instr                                             | SERIAL | ASRL7::INSTR                                           | ASRL::7
        ASRL/dev/ttyUSB0::INSTR                                   | SERIAL | ASRL/dev/ttyUSB0::INSTR                                | ASRL::/dev/ttyUSB0
        ASRLcom3::INSTR                                           | SERIAL | ASRLCOM3::INSTR                                        | ASRL::COM3
        ASRL/dev/serial/by-path/pci-0000:00:14.0-usb-0:1::INSTR   | SERIAL | ASRL/dev/serial/by-path/pci-0000:00:14.0-usb-0:1::INSTR | ASRL::/dev/serial/by-path/pci-0000:00:14.0-usb-0:1
        ASRL/dev/ttyUSB0::INSTR?baud=9600&parity=even             | SERIAL | ASRL/dev/ttyUSB0::INSTR?baud=9600&parity=even          | ASRL::/dev/ttyUSB0
        ASRL1::INSTR?BAUD=0115200&Data_Bits=8&PARITY=None&stop_bits=1.5&flow=RtsCts | SERIAL | ASRL1::INSTR?baud=115200&data_bits=8&parity=none&stop_bits=1.5&flow=rtscts | ASRL::1
        SIM::dmm34401::INSTR                                      | SIM    | SIM::DMM34401::0::INSTR                                | SIM::DMM34401::0
        sim::Power_Supply-2::3::instr                             | SIM    | SIM::POWER_SUPPLY-2::3::INSTR                          | SIM::POWER_SUPPLY-2::3
        SIM::dmm::2::INSTR?seed=42                                | SIM    | SIM::DMM::2::INSTR?seed=42                             | SIM::DMM::2
        SIM::replay::bench-a.v2::INSTR                            | SIM    | SIM::REPLAY::bench-a.v2::0::INSTR                      | SIM::REPLAY::bench-a.v2::0
        SIM::REPLAY::Bench_A::3::INSTR                            | SIM    | SIM::REPLAY::Bench_A::3::INSTR                         | SIM::REPLAY::Bench_A::3
        TCPIP::10.0.0.5::5025::SOCKET?Timeout_MS=500&delay=10ms   | SOCKET | TCPIP0::10.0.0.5::5025::SOCKET?timeout_ms=500&delay=10ms | TCPIP::10.0.0.5
        USB::0x0957::0x1796::MY12345678::INSTR                    | USBTMC | USB0::0x0957::0x1796::MY12345678::INSTR                | USB::0x0957::0x1796::MY12345678
        usb0::2391::6038::MY12345678::instr                       | USBTMC | USB0::0x0957::0x1796::MY12345678::INSTR                | USB::0x0957::0x1796::MY12345678
        USB1::0x2a8d::0X101::my-sn.1_A::3::INSTR                  | USBTMC | USB1::0x2A8D::0x0101::my-sn.1_A::3::INSTR              | USB::0x2A8D::0x0101::my-sn.1_A
        USB::0x1AB1::0x0588::DS1ED141904883::RAW                  | USB_RAW | USB0::0x1AB1::0x0588::DS1ED141904883::RAW             | USB::0x1AB1::0x0588::DS1ED141904883
        USB::0::65535::X::0::raw?read_termination=lf              | USB_RAW | USB0::0x0000::0xFFFF::X::0::RAW?read_termination=lf   | USB::0x0000::0xFFFF::X
        GPIB::22::INSTR                                           | GPIB   | GPIB0::22::INSTR                                       | GPIB0::22
        gpib1::05::3::instr                                       | GPIB   | GPIB1::5::3::INSTR                                     | GPIB1::5
        GPIB0::0::30::INSTR?read_termination=lf                   | GPIB   | GPIB0::0::30::INSTR?read_termination=lf                | GPIB0::0
        """)
    void parsesAcceptedForm(String input, TransportKind kind, String canonical, String domainKey) {
        ResourceAddress address = ResourceAddress.parse(input);

        assertAll(
                () -> assertEquals(kind, address.kind(), "kind"),
                () -> assertEquals(canonical, address.canonical(), "canonical"),
                () -> assertEquals(canonical, address.toString(), "toString"),
                () -> assertEquals(domainKey, address.domainKey(), "domainKey"),
                () -> assertEquals(address, ResourceAddress.parse(canonical), "canonical form parses back equal"),
                () -> assertEquals(canonical, ResourceAddress.parse(canonical).canonical(), "canonical is stable"));
    }

    /** Every accessor, so that a part leaking into the wrong kind or a wrong default shows up. */
    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
        TCPIP::10.0.0.5::5025::SOCKET           | SOCKET board=0 host=10.0.0.5 port=5025 lan=- gpib=- serial=- model=- instance=- options={}
        TCPIP4::10.0.0.5::INSTR                 | VXI11 board=4 host=10.0.0.5 port=- lan=inst0 gpib=- serial=- model=- instance=- options={}
        TCPIP::Dmm.Lab::inst2::INSTR            | VXI11 board=0 host=dmm.lab port=- lan=inst2 gpib=- serial=- model=- instance=- options={}
        TCPIP::[fe80::1]::hislip0::INSTR        | HISLIP board=0 host=[fe80::1] port=4880 lan=hislip0 gpib=- serial=- model=- instance=- options={}
        TCPIP::10.0.0.5::hislip2,4881::INSTR    | HISLIP board=0 host=10.0.0.5 port=4881 lan=hislip2 gpib=- serial=- model=- instance=- options={}
        TCPIP::gw.lab::gpib1,5::INSTR           | VXI11 board=0 host=gw.lab port=- lan=gpib1,5 gpib=5 serial=- model=- instance=- options={}
        ASRL/dev/ttyUSB0::INSTR?baud=9600&parity=EVEN | SERIAL board=- host=- port=- lan=- gpib=- serial=/dev/ttyUSB0 model=- instance=- options={baud=9600, parity=even}
        ASRL3::INSTR                            | SERIAL board=- host=- port=- lan=- gpib=- serial=3 model=- instance=- options={}
        SIM::dmm::INSTR                         | SIM board=- host=- port=- lan=- gpib=- serial=- model=DMM instance=0 options={}
        SIM::dmm::7::INSTR?Noise=0.1            | SIM board=- host=- port=- lan=- gpib=- serial=- model=DMM instance=7 options={noise=0.1}
        USB2::0x0957::0x1796::MY1::INSTR        | USBTMC board=2 host=- port=- lan=- gpib=- serial=- model=- instance=- options={} usb=0957:1796:MY1:- bus=-
        USB::1::2::S::4::RAW                    | USB_RAW board=0 host=- port=- lan=- gpib=- serial=- model=- instance=- options={} usb=0001:0002:S:4 bus=-
        GPIB::22::INSTR                         | GPIB board=0 host=- port=- lan=- gpib=22 serial=- model=- instance=- options={} secondary=- bus=GPIB0
        GPIB3::22::7::INSTR                     | GPIB board=3 host=- port=- lan=- gpib=22 serial=- model=- instance=- options={} secondary=7 bus=GPIB3
        """)
    void exposesTheFieldsOfItsKind(String input, String expected) {
        assertEquals(expected, describe(ResourceAddress.parse(input)));
    }

    private static String describe(ResourceAddress a) {
        return a.kind() + " board=" + text(a.board()) + " host=" + a.host().orElse("-") + " port=" + text(a.port())
                + " lan=" + a.lanDevice().orElse("-") + " gpib=" + text(a.gpibAddress())
                + " serial=" + a.serialPort().orElse("-") + " model=" + a.simModel().orElse("-")
                + " instance=" + text(a.simInstance()) + " options=" + a.options()
                + (a.usbVendorId().isPresent() || a.usbProductId().isPresent() || a.usbSerial().isPresent()
                        ? " usb=" + String.format("%04X:%04X", a.usbVendorId().getAsInt(), a.usbProductId().getAsInt())
                                + ":" + a.usbSerial().orElseThrow() + ":" + text(a.usbInterface()) : "")
                + (a.gpibSecondary().isPresent() || a.kind() == TransportKind.GPIB
                        ? " secondary=" + text(a.gpibSecondary()) : "")
                + (a.kind() == TransportKind.GPIB || a.kind() == TransportKind.USBTMC || a.kind() == TransportKind.USB_RAW
                        ? " bus=" + a.busKey().orElse("-") : "");
    }

    private static String text(OptionalInt value) {
        return value.isPresent() ? Integer.toString(value.getAsInt()) : "-";
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
        # input                                   | position | offending part      | expectation in the message
        ''                                        | 0  | ''                         | is empty
        '   '                                     | 0  | '   '                      | is blank
        ' TCPIP::10.0.0.5::INSTR'                 | 0  | ' '                        | no whitespace
        'TCPIP::10.0.0.5::INSTR '                 | 22 | ' '                        | no whitespace
        'TCPIP::10.0.0.5:: 5025::SOCKET'          | 17 | ' '                        | no whitespace
        PXI0::5::INSTR                            | 0  | PXI0                       | is unknown; expected one of TCPIP[board], ASRL<port>, USB[board], GPIB[board], SIM
        USB::0x1234::0x5678::INSTR                | 21 | ''                         | serial number "" at position 21 is missing; expected USB[board]::vendor::product::serial[::interface]::INSTR (or ::RAW)
        USB::0x1234::INSTR                        | 13 | ''                         | product id "" at position 13 is missing
        USB::INSTR                                | 5  | ''                         | vendor id "" at position 5 is missing
        USBx::1::2::S::INSTR                      | 3  | x                          | board number
        USB::0x10000::1::S::INSTR                 | 5  | 0x10000                    | vendor id "0x10000" at position 5 must be 0-65535 in decimal or 0x0000-0xFFFF in hex
        USB::65536::1::S::INSTR                   | 5  | 65536                      | must be 0-65535
        USB::0x::1::S::INSTR                      | 5  | 0x                         | vendor id
        USB::0xG1::1::S::INSTR                    | 5  | 0xG1                       | vendor id
        USB::1::-2::S::INSTR                      | 8  | -2                         | product id
        USB::1::2::MY:1::INSTR                    | 13 | :                          | is not allowed in a USB serial number
        USB::1::2::MYé1::INSTR               | 13 | é                          | is not allowed in a USB serial number
        USB::1::2::S::256::INSTR                  | 14 | 256                        | USB interface number "256" at position 14 must be a decimal number 0-255
        USB::1::2::S::x::INSTR                    | 14 | x                          | USB interface number
        USB::1::2::S::0::9::INSTR                 | 17 | 9                          | is unexpected
        USB::1::2::S::SOCKET                      | 14 | SOCKET                     | is not supported here
        USB::1::2::S::RAWX                        | 17 | X                          | trailing text
        GPIB::INSTR                               | 6  | ''                         | GPIB primary address "" at position 6 is missing; expected GPIB[board]::primary[::secondary]::INSTR
        GPIB::31::INSTR                           | 6  | 31                         | GPIB primary address "31" at position 6 must be a decimal number 0-30
        GPIB::x::INSTR                            | 6  | x                          | GPIB primary address
        GPIB::5::31::INSTR                        | 9  | 31                         | GPIB secondary address "31" at position 9 must be a decimal number 0-30
        GPIB::5::96::INSTR                        | 9  | 96                         | GPIB secondary address
        GPIB::5::1::2::INSTR                      | 12 | 2                          | is unexpected
        GPIB::5::RAW                              | 9  | RAW                        | is not supported here; expected GPIB[board]::primary[::secondary]::INSTR
        GPIB::INTFC                               | 11 | ''                         | resource class
        GPIBa::5::INSTR                           | 4  | a                          | board number
        TCPIP::10.0.0.5::5025::RAW                | 23 | RAW                        | is not supported here
        SIM0::dmm::INSTR                          | 0  | SIM0                       | is unknown
        ::10.0.0.5::INSTR                         | 0  | ''                         | interface keyword "" at position 0 is missing
        TCPIPx::10.0.0.5::INSTR                   | 5  | x                          | board number
        TCPIP99999999999::10.0.0.5::INSTR         | 5  | 99999999999                | board number
        TCPIP::10.0.0.5                           | 15 | ''                         | resource class "" at position 15 is missing; expected "::INSTR", "::SOCKET" or "::RAW"
        TCPIP::10.0.0.5::inst0                    | 22 | ''                         | resource class
        TCPIP::10.0.0.5::inst0?timeout_ms=5       | 22 | ''                         | resource class
        SIM::dmm                                  | 8  | ''                         | resource class
        ASRL1                                     | 5  | ''                         | resource class
        TCPIP::10.0.0.5::INSTR::x                 | 22 | ::x                        | trailing text
        TCPIP::10.0.0.5::INSTR::                  | 22 | ::                         | trailing text
        TCPIP::10.0.0.5::INSTRUMENT               | 22 | UMENT                      | trailing text
        TCPIP::10.0.0.5::INSTR::inst0::INSTR      | 22 | ::inst0::INSTR             | trailing text
        TCPIP::INSTR                              | 7  | ''                         | host "" at position 7 is missing
        TCPIP::::INSTR                            | 7  | ''                         | host "" at position 7 is missing
        TCPIP::10.0.0.5::SOCKET                   | 17 | ''                         | port "" at position 17 is missing; expected TCPIP[board]::host::port::SOCKET
        TCPIP::10.0.0.5::70000::SOCKET            | 17 | 70000                      | must be 1-65535
        TCPIP::10.0.0.5::65536::SOCKET            | 17 | 65536                      | must be 1-65535
        TCPIP::10.0.0.5::0::SOCKET                | 17 | 0                          | must be 1-65535
        TCPIP::10.0.0.5::http::SOCKET             | 17 | http                       | must be 1-65535
        TCPIP::10.0.0.5::5025::80::SOCKET         | 23 | 80                         | is unexpected; expected TCPIP[board]::host::port::SOCKET
        TCPIP::10.0.0.5::inst0::x::INSTR          | 24 | x                          | is unexpected
        TCPIP::10.0.0.256::INSTR                  | 14 | 256                        | IPv4 octet
        TCPIP::10.0.00.5::INSTR                   | 12 | 00                         | without leading zeros
        TCPIP::10..0.5::INSTR                     | 10 | ''                         | IPv4 octet
        TCPIP::10.0.0::INSTR                      | 7  | 10.0.0                     | four octets
        TCPIP::1.2.3.4.5::INSTR                   | 7  | 1.2.3.4.5                  | four octets
        TCPIP::bad_host.lab::INSTR                | 7  | bad_host                   | host name label
        TCPIP::lab.-dmm::INSTR                    | 11 | -dmm                       | host name label
        TCPIP::dmm.lab.::INSTR                    | 15 | ''                         | host name label
        TCPIP::dmm\u20ac.lab::INSTR               | 7  | dmm\u20ac                      | host name label
        TCPIP::10.0.0.5:5025::SOCKET              | 7  | 10.0.0.5:5025              | must not contain a port; write TCPIP::10.0.0.5::5025::SOCKET
        TCPIP::a:b:c::INSTR                       | 7  | a:b:c                      | must not contain ":"
        TCPIP::fe80::1::INSTR                     | 7  | fe80::1                    | without brackets; write it as [fe80::1]
        TCPIP::2001:db8::1::INSTR                 | 7  | 2001:db8::1                | without brackets; write it as [2001:db8::1]
        TCPIP::beef::5025::INSTR                  | 7  | beef::5025                 | write it as [beef::5025]; or, if 5025 is a port, TCPIP::beef::5025::SOCKET
        TCPIP::::1::hislip0::INSTR                | 7  | ::1                        | without brackets; write it as [::1]
        TCPIP::fe80::1::5025::SOCKET              | 7  | fe80::1                    | without brackets
        TCPIP::2001:db8:0:0:0:0:0:1::INSTR        | 7  | 2001:db8:0:0:0:0:0:1       | without brackets
        TCPIP::fe80::1%eth0::INSTR                | 7  | fe80::1%eth0               | without brackets
        TCPIP::[fe80::1::INSTR                    | 7  | [fe80::1::INSTR            | no closing "]"
        TCPIP::[fe80::g]::INSTR                   | 7  | [fe80::g]                  | not a valid IPv6 literal
        TCPIP::[1::2::3]::INSTR                   | 7  | [1::2::3]                  | not a valid IPv6 literal
        TCPIP::[1:2:3:4:5:6:7]::INSTR             | 7  | [1:2:3:4:5:6:7]            | not a valid IPv6 literal
        TCPIP::[1:2:3:4:5:6:7::8]::INSTR          | 7  | [1:2:3:4:5:6:7::8]         | not a valid IPv6 literal
        TCPIP::[10.0.0.5]::INSTR                  | 7  | [10.0.0.5]                 | not a valid IPv6 literal
        TCPIP::[fe80::1%]::INSTR                  | 7  | [fe80::1%]                 | not a valid IPv6 literal
        TCPIP::[fe80::1]:5025::SOCKET             | 16 | :5025                      | after the IPv6 address is not allowed
        TCPIP::10.0.0.5::inst::INSTR              | 17 | inst                       | LAN device name "inst" at position 17 must be instN, hislipN[,port] or gpibB,N
        TCPIP::10.0.0.5::foo0::INSTR              | 17 | foo0                       | LAN device name
        TCPIP::10.0.0.5::inst0,1::INSTR           | 17 | inst0,1                    | LAN device name
        TCPIP::10.0.0.5::hislip0,0::INSTR         | 25 | 0                          | port "0" at position 25 must be 1-65535
        TCPIP::10.0.0.5::hislip0,99999::INSTR     | 25 | 99999                      | must be 1-65535
        TCPIP::10.0.0.5::hislip0,::INSTR          | 25 | ''                         | must be 1-65535
        TCPIP::gw.lab::gpib0,31::INSTR            | 21 | 31                         | GPIB address "31" at position 21 must be 0-30
        TCPIP::gw.lab::gpib0,x::INSTR             | 21 | x                          | GPIB address
        TCPIP::gw.lab::gpib0,5,96::INSTR          | 21 | 5,96                       | GPIB address
        TCPIP::gw.lab::gpib0::INSTR               | 20 | ''                         | GPIB address "" at position 20 is missing
        TCPIP::gw.lab::gpib0,::INSTR              | 21 | ''                         | GPIB address "" at position 21 is missing
        ASRL::INSTR                               | 4  | ''                         | serial port "" at position 4 is missing
        ASRL::/dev/ttyUSB0::INSTR                 | 4  | ''                         | serial port
        ASRL1::SOCKET                             | 7  | SOCKET                     | is not supported here; expected ASRL<port>::INSTR
        ASRL1::extra::INSTR                       | 7  | extra                      | is unexpected; expected ASRL<port>::INSTR
        SIM::INSTR                                | 5  | ''                         | model "" at position 5 is missing
        SIM::::INSTR                              | 5  | ''                         | model
        SIM::dmm.1::INSTR                         | 5  | dmm.1                      | model
        SIM::dmm::x::INSTR                        | 10 | x                          | instance
        SIM::dmm::1::2::INSTR                     | 13 | 2                          | is unexpected
        SIM::dmm::SOCKET                          | 10 | SOCKET                     | is not supported here
        SIM::REPLAY::INSTR                        | 13 | ''                         | recording "" at position 13 is missing
        SIM::REPLAY::::INSTR                      | 13 | ''                         | recording
        SIM::REPLAY::.hidden::INSTR               | 13 | .hidden                    | recording
        SIM::REPLAY::a/b::INSTR                   | 13 | a/b                        | recording
        SIM::REPLAY::a::x::INSTR                  | 16 | x                          | instance
        SIM::REPLAY::a::1::2::INSTR               | 19 | 2                          | is unexpected; expected SIM::REPLAY
        ASRL1::INSTR?                             | 13 | ''                         | options "" at position 13 are missing
        ASRL1::INSTR?baud                         | 13 | baud                       | must be key=value
        ASRL1::INSTR?=9600                        | 13 | ''                         | option key
        ASRL1::INSTR?baud=                        | 18 | ''                         | baud value "" at position 18 is missing
        ASRL1::INSTR?baud=9600&                   | 23 | ''                         | option "" at position 23 is empty
        ASRL1::INSTR?baud=9600&&parity=odd        | 23 | ''                         | is empty
        ASRL1::INSTR?baud=9600&BAUD=4800          | 23 | BAUD                       | is given twice
        ASRL1::INSTR?speed=9600                   | 13 | speed                      | known options are baud, data_bits, parity, stop_bits, flow
        ASRL1::INSTR?baud=0                       | 18 | 0                          | baud value "0" at position 18 must be a positive whole number
        ASRL1::INSTR?baud=fast                    | 18 | fast                       | baud value
        ASRL1::INSTR?data_bits=9                  | 23 | 9                          | must be 5, 6, 7 or 8
        ASRL1::INSTR?data_bits=4                  | 23 | 4                          | must be 5, 6, 7 or 8
        ASRL1::INSTR?parity=evn                   | 20 | evn                        | must be one of none, odd, even, mark, space
        ASRL1::INSTR?stop_bits=3                  | 23 | 3                          | must be one of 1, 1.5, 2
        ASRL1::INSTR?flow=hw                      | 18 | hw                         | must be one of none, rtscts, xonxoff, dsrdtr
        ASRL1::INSTR?write_termination=lfcr       | 31 | lfcr                       | must be one of lf, crlf, cr, none
        ASRL1::INSTR?read_termination=none        | 30 | none                       | must be one of lf, crlf, cr
        ASRL1::INSTR?drain_ms=-1                  | 22 | -1                         | drain_ms value "-1" at position 22 must be a whole number of milliseconds 0-60000
        ASRL1::INSTR?drain_ms=60001               | 22 | 60001                      | must be a whole number of milliseconds 0-60000
        TCPIP::h::INSTR?timeout_ms=1&Timeout_MS=2 | 29 | Timeout_MS                 | is given twice
        TCPIP::h::INSTR?delay=                    | 22 | ''                         | delay value
        TCPIP::h::INSTR?a=b=c                     | 18 | b=c                        | separate options with "&"
        TCPIP::h::INSTR?x=1?y=2                   | 18 | 1?y=2                      | separate options with "&"
        TCPIP::h::INSTR?b@d=1                     | 16 | b@d                        | option key
        """)
    void rejectsAndPointsAtTheOffendingPart(String input, int position, String part, String expectation) {
        InvalidResourceException e = assertThrows(InvalidResourceException.class, () -> ResourceAddress.parse(input));

        String message = e.getMessage();
        assertAll(
                () -> assertEquals(input, e.input(), "input"),
                () -> assertEquals(position, e.position(), "position in: " + message),
                () -> assertEquals(part, e.part(), "part in: " + message),
                () -> assertTrue(message.startsWith("Invalid resource " + quoted(input) + ": "), message),
                () -> assertTrue(message.contains(quoted(part) + " at position " + position + " "), message),
                () -> assertTrue(message.contains(expectation), message));
    }

    private static String quoted(String text) {
        return "\"" + text + "\"";
    }

    @Test
    void messageShowsACaretLineUnderTheOffendingPart() {
        InvalidResourceException e = assertThrows(InvalidResourceException.class,
                () -> ResourceAddress.parse("TCPIP::10.0.0.5::70000::SOCKET"));

        assertEquals(String.join("\n",
                "Invalid resource \"TCPIP::10.0.0.5::70000::SOCKET\": port \"70000\" at position 17 must be 1-65535",
                "  TCPIP::10.0.0.5::70000::SOCKET",
                "                   ^^^^^"), e.getMessage());
    }

    @Test
    void messageOfAMissingPartHasOneCaretWhereItBelongs() {
        InvalidResourceException e = assertThrows(InvalidResourceException.class,
                () -> ResourceAddress.parse("TCPIP::10.0.0.5"));

        assertTrue(e.getMessage().endsWith("\n  TCPIP::10.0.0.5\n  " + " ".repeat(15) + "^"), e.getMessage());
    }

    @Test
    void controlCharactersWithoutAShortEscapeAreWrittenAsUnicodeEscapes() {
        InvalidResourceException e = assertThrows(InvalidResourceException.class,
                () -> ResourceAddress.parse("TCPIP::h\u0000\u001b\u007f\u009f::INSTR"));

        assertEquals(8, e.position());
        assertTrue(e.getMessage().startsWith("Invalid resource \"TCPIP::h\\u0000\\u001b\\u007f\\u009f::INSTR\": "
                + "character \"\\u0000\" at position 8 "), e.getMessage());
    }

    @Test
    void controlCharactersAreEscapedInTheMessage() {
        InvalidResourceException e = assertThrows(InvalidResourceException.class,
                () -> ResourceAddress.parse("TCPIP::10.0.0.5::INSTR\n"));

        assertEquals(22, e.position());
        assertTrue(e.getMessage().startsWith("Invalid resource \"TCPIP::10.0.0.5::INSTR\\n\": character \"\\n\" at"),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("\n  TCPIP::10.0.0.5::INSTR?\n  " + " ".repeat(22) + "^"), e.getMessage());
    }

    @Test
    void invalidResourceIsAnIllegalArgument() {
        assertThrows(IllegalArgumentException.class, () -> ResourceAddress.parse("nonsense"));
    }

    @Test
    void nullIsRejected() {
        assertThrows(NullPointerException.class, () -> ResourceAddress.parse(null));
    }

    @Test
    void socketVxi11AndHislipToOneHostShareADomainKey() {
        assertEquals(Set.of("TCPIP::10.0.0.5"), domainKeys(
                "TCPIP::10.0.0.5::5025::SOCKET",
                "TCPIP::10.0.0.5::5026::SOCKET?timeout_ms=10",
                "TCPIP0::10.0.0.5::INSTR",
                "TCPIP1::10.0.0.5::inst1::INSTR",
                "tcpip::10.0.0.5::hislip0::INSTR",
                "TCPIP2::10.0.0.5::hislip1,4881::INSTR"));
    }

    @Test
    void spellingsOfOneHostShareADomainKey() {
        assertEquals(Set.of("TCPIP::[2001:db8::1]"), domainKeys(
                "TCPIP::[2001:db8::1]::INSTR",
                "TCPIP::[2001:0DB8:0000:0000:0000:0000:0000:0001]::5025::SOCKET",
                "TCPIP::[2001:db8:0::0:1]::hislip0::INSTR"));
        assertEquals(Set.of("TCPIP::scope.lab"), domainKeys(
                "TCPIP::scope.lab::INSTR",
                "TCPIP::SCOPE.Lab::5025::SOCKET"));
    }

    @Test
    void differentHostsHaveDifferentDomainKeys() {
        assertEquals(3, domainKeys(
                "TCPIP::10.0.0.5::INSTR",
                "TCPIP::10.0.0.6::INSTR",
                "TCPIP::[fe80::1]::INSTR").size());
    }

    @Test
    void aHostNameAndItsAddressHaveDifferentDomainKeysBecauseNothingIsResolved() {
        assertNotEquals(ResourceAddress.parse("TCPIP::localhost::INSTR").domainKey(),
                ResourceAddress.parse("TCPIP::127.0.0.1::INSTR").domainKey());
    }

    @Test
    void gpibAddressesBehindOneGatewayHaveDifferentDomainKeys() {
        assertEquals(Set.of("TCPIP::gw.lab::gpib0,5", "TCPIP::gw.lab::gpib0,6", "TCPIP::gw.lab::gpib1,5",
                "TCPIP::gw.lab"), domainKeys(
                "TCPIP::gw.lab::gpib0,5::INSTR",
                "TCPIP1::GW.lab::gpib0,05::INSTR",
                "TCPIP::gw.lab::gpib0,6::INSTR",
                "TCPIP::gw.lab::gpib1,5::INSTR",
                "TCPIP::gw.lab::INSTR"));
    }

    @Test
    void usbInstrAndRawOfOneDeviceShareADomainKeyWhateverTheInterfaceOrSpelling() {
        String key = ResourceAddress.parse("USB::0x0957::0x1796::MY1::INSTR").domainKey();
        assertAll(
                () -> assertEquals(key, ResourceAddress.parse("USB3::2391::6038::MY1::2::RAW").domainKey()),
                () -> assertEquals(key, ResourceAddress.parse("USB::0x0957::0x1796::MY1::INSTR?term_char=on").domainKey()),
                () -> assertNotEquals(key, ResourceAddress.parse("USB::0x0957::0x1796::my1::INSTR").domainKey(),
                        "serial numbers are case-sensitive"),
                () -> assertNotEquals(key, ResourceAddress.parse("USB::0x0957::0x1797::MY1::INSTR").domainKey()));
    }

    @Test
    void gpibAddressesAreInstrumentsOnTheirBoardsBus() {
        ResourceAddress a = ResourceAddress.parse("GPIB0::22::INSTR");
        assertAll(
                () -> assertEquals(a.domainKey(), ResourceAddress.parse("GPIB0::22::3::INSTR").domainKey(),
                        "secondary addresses are parts of one instrument"),
                () -> assertNotEquals(a.domainKey(), ResourceAddress.parse("GPIB0::5::INSTR").domainKey()),
                () -> assertNotEquals(a.domainKey(), ResourceAddress.parse("GPIB1::22::INSTR").domainKey(),
                        "another board is another bus"),
                () -> assertEquals(a.busKey(), ResourceAddress.parse("GPIB0::5::INSTR").busKey()),
                () -> assertNotEquals(a.busKey(), ResourceAddress.parse("GPIB1::22::INSTR").busKey()),
                () -> assertNotEquals(a, ResourceAddress.parse("GPIB0::22::0::INSTR"),
                        "secondary address 0 is an address, not a default"));
    }

    @Test
    void aVxi11GatewaysGpibAddressesShareTheGatewaysBusButTheGatewayItselfHasNone() {
        ResourceAddress five = ResourceAddress.parse("TCPIP::gw.lab::gpib0,5::INSTR");
        assertAll(
                () -> assertEquals(Optional.of("TCPIP::gw.lab::gpib0"), five.busKey()),
                () -> assertEquals(five.busKey(), ResourceAddress.parse("TCPIP3::GW.lab::gpib0,22::INSTR").busKey()),
                () -> assertNotEquals(five.busKey(), ResourceAddress.parse("TCPIP::gw.lab::gpib1,5::INSTR").busKey()),
                () -> assertEquals(Optional.empty(), ResourceAddress.parse("TCPIP::gw.lab::inst0::INSTR").busKey()),
                () -> assertEquals(Optional.empty(), ResourceAddress.parse("TCPIP::gw.lab::5025::SOCKET").busKey()),
                () -> assertEquals(Optional.empty(), ResourceAddress.parse("ASRL1::INSTR").busKey()));
    }

    @Test
    void serialAndSimulatedDomainKeysIgnoreOptionsButNotPortsOrInstances() {
        assertEquals(Set.of("ASRL::/dev/ttyUSB0", "ASRL::/dev/ttyUSB1", "ASRL::1"), domainKeys(
                "ASRL/dev/ttyUSB0::INSTR",
                "ASRL/dev/ttyUSB0::INSTR?baud=9600",
                "ASRL/dev/ttyUSB1::INSTR",
                "ASRL1::INSTR",
                "ASRL01::INSTR?baud=115200"));
        assertEquals(Set.of("SIM::DMM::0", "SIM::DMM::1", "SIM::PSU::0"), domainKeys(
                "SIM::dmm::INSTR",
                "SIM::DMM::0::INSTR?seed=1",
                "SIM::dmm::1::INSTR",
                "SIM::psu::INSTR"));
    }

    private static Set<String> domainKeys(String... resources) {
        return Stream.of(resources).map(r -> ResourceAddress.parse(r).domainKey()).collect(Collectors.toSet());
    }

    @Test
    void spellingsThatNormaliseAlikeAreEqual() {
        ResourceAddress a = ResourceAddress.parse("tcpip::DMM.lab::INSTR");
        ResourceAddress b = ResourceAddress.parse("TCPIP0::dmm.lab::inst0::INSTR");

        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
    }

    @Test
    void optionsAndTheirOrderTakePartInEquality() {
        ResourceAddress plain = ResourceAddress.parse("TCPIP::h::INSTR");
        ResourceAddress ab = ResourceAddress.parse("TCPIP::h::INSTR?a=1&b=2");
        ResourceAddress ba = ResourceAddress.parse("TCPIP::h::INSTR?b=2&a=1");

        assertNotEquals(plain, ab);
        assertNotEquals(ab, ba);
        assertEquals(plain.domainKey(), ab.domainKey());
    }

    @Test
    void optionsKeepOrderLowerCaseKeysAndVerbatimValues() {
        ResourceAddress a = ResourceAddress.parse("TCPIP::h::5025::SOCKET?Timeout_MS=500&delay=10ms&Term=LF");

        assertEquals(List.of("timeout_ms", "delay", "term"), List.copyOf(a.options().keySet()));
        assertEquals(Map.of("timeout_ms", "500", "delay", "10ms", "term", "LF"), a.options());
        assertEquals(Optional.of("500"), a.option("TIMEOUT_MS"));
        assertEquals(Optional.of("LF"), a.option("term"));
        assertEquals(Optional.empty(), a.option("baud"));
    }

    @Test
    void optionsCannotBeModified() {
        ResourceAddress a = ResourceAddress.parse("TCPIP::h::INSTR?delay=1");

        assertThrows(UnsupportedOperationException.class, () -> a.options().put("delay", "2"));
        assertThrows(UnsupportedOperationException.class, () -> ResourceAddress.parse("ASRL1::INSTR").options()
                .put("baud", "9600"));
    }

    @Test
    void serialValuesAreNormalised() {
        ResourceAddress a = ResourceAddress.parse("ASRL1::INSTR?baud=09600&data_bits=07&parity=MARK&stop_bits=2&flow=XonXoff");

        assertEquals(Map.of("baud", "9600", "data_bits", "7", "parity", "mark", "stop_bits", "2", "flow", "xonxoff"),
                a.options());
    }

    @Test
    void serialTerminationAndDrainOptionsAreNormalised() {
        ResourceAddress a = ResourceAddress.parse("ASRL/dev/ttyS0::INSTR?Write_Termination=CRLF&read_termination=Cr&drain_ms=0250");

        assertEquals(Map.of("write_termination", "crlf", "read_termination", "cr", "drain_ms", "250"), a.options());
        assertEquals("ASRL/dev/ttyS0::INSTR?write_termination=crlf&read_termination=cr&drain_ms=250", a.canonical());
    }

    @Test
    void exceptionChecksItsArguments() {
        assertThrows(IndexOutOfBoundsException.class, () -> new InvalidResourceException("abc", 4, "", "x"));
        assertEquals(3, new InvalidResourceException("abc", 3, "", "missing \"\" at position 3").position());
    }
}
