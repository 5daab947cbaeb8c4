/** Framework tests of the TCP socket transport against simulators on real loopback sockets. Not exported. */
package org.labhal.itest.socket;
