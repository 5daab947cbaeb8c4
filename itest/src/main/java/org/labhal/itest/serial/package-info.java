/** Framework tests of the serial transport over real pseudo-terminals. Not exported. */
package org.labhal.itest.serial;
