/** Framework tests: run in a real Felix by the bnd tester. Not exported. */
package org.labhal.itest;
