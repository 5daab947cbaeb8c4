/** Framework tests of the lab runtime: configured instruments, model binding, the shell and the jar. */
package org.labhal.itest.runtime;
