package org.labhal.transport.vxi11.internal;

/**
 * ONC RPC version 2 (RFC 5531) message headers, with AUTH_NONE credentials, and the numbers of the
 * programs LabHAL speaks: the portmapper (RFC 1833 version 2) and the VXI-11 core channel.
 */
public final class Rpc {
    /** RPC protocol version. */
    public static final int VERSION = 2;
    public static final int CALL = 0;
    public static final int REPLY = 1;
    public static final int MSG_ACCEPTED = 0;
    public static final int MSG_DENIED = 1;
    public static final int SUCCESS = 0;
    public static final int PROG_UNAVAIL = 1;
    public static final int PROG_MISMATCH = 2;
    public static final int PROC_UNAVAIL = 3;
    public static final int GARBAGE_ARGS = 4;
    public static final int SYSTEM_ERR = 5;
    public static final int RPC_MISMATCH = 0;
    public static final int AUTH_ERROR = 1;
    /** Largest credential or verifier body (RFC 5531 section 8.2). */
    public static final int MAX_AUTH_BODY = 400;

    public static final int PORTMAPPER_PROGRAM = 100000;
    public static final int PORTMAPPER_VERSION = 2;
    public static final int PORTMAPPER_NULL = 0;
    public static final int PORTMAPPER_GETPORT = 3;
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;
    /** The portmapper's well-known port. */
    public static final int PORTMAPPER_PORT = 111;

    private Rpc() {
    }

    /** The header of a call, as received by a server. */
    public record Call(int xid, int rpcVersion, int program, int version, int procedure) {
    }

    /** Writes a call header with AUTH_NONE credentials and verifier; the arguments follow. */
    public static XdrEncoder call(int xid, int program, int version, int procedure, int argumentBytes) {
        return new XdrEncoder(40 + argumentBytes).putInt(xid).putInt(CALL).putInt(VERSION).putInt(program)
                .putInt(version).putInt(procedure).putInt(0).putInt(0).putInt(0).putInt(0);
    }

    /**
     * Reads a call header (a server's side), skipping credentials and verifier of any flavour.
     *
     * @throws XdrException when it is not a call or is truncated
     */
    public static Call readCall(XdrDecoder in) throws XdrException {
        int xid = in.getInt();
        int type = in.getInt();
        if (type != CALL) {
            throw new XdrException("expected an RPC call (message type 0), got message type " + type);
        }
        int rpcVersion = in.getInt();
        int program = in.getInt();
        int version = in.getInt();
        int procedure = in.getInt();
        in.getInt();
        in.skipOpaque(MAX_AUTH_BODY);
        in.getInt();
        in.skipOpaque(MAX_AUTH_BODY);
        // The caller answers another RPC version with RPC_MISMATCH.
        return new Call(xid, rpcVersion, program, version, procedure);
    }

    /** Writes an accepted reply's header; with {@link #SUCCESS} the results follow. */
    public static XdrEncoder accepted(int xid, int acceptStat, int resultBytes) {
        return new XdrEncoder(24 + resultBytes).putInt(xid).putInt(REPLY).putInt(MSG_ACCEPTED).putInt(0).putInt(0)
                .putInt(acceptStat);
    }

    /** Writes a PROG_MISMATCH reply naming the versions served. */
    public static XdrEncoder programMismatch(int xid, int low, int high) {
        return accepted(xid, PROG_MISMATCH, 8).putInt(low).putInt(high);
    }

    /** Writes an RPC_MISMATCH rejection: only RPC version 2 is spoken. */
    public static XdrEncoder rpcMismatch(int xid) {
        return new XdrEncoder(20).putInt(xid).putInt(REPLY).putInt(MSG_DENIED).putInt(RPC_MISMATCH)
                .putInt(VERSION).putInt(VERSION);
    }

    /**
     * Reads a reply header up to its results (a client's side).
     *
     * @param in positioned after the xid, which the caller has matched
     * @throws XdrException when it is not a reply or is malformed
     * @throws RpcRejectedException when the server accepted the message but not the call, or denied it
     */
    public static void readReply(XdrDecoder in) throws XdrException, RpcRejectedException {
        int type = in.getInt();
        if (type != REPLY) {
            throw new XdrException("expected an RPC reply (message type 1), got message type " + type);
        }
        int replyStat = in.getInt();
        if (replyStat == MSG_ACCEPTED) {
            in.getInt();
            in.skipOpaque(MAX_AUTH_BODY);
            int acceptStat = in.getInt();
            switch (acceptStat) {
                case SUCCESS -> {
                    return;
                }
                case PROG_UNAVAIL -> throw new RpcRejectedException("program unavailable (PROG_UNAVAIL)");
                case PROG_MISMATCH -> throw new RpcRejectedException("program version mismatch (PROG_MISMATCH): "
                        + "the server has versions " + in.getUnsignedInt() + " to " + in.getUnsignedInt());
                case PROC_UNAVAIL -> throw new RpcRejectedException("procedure unavailable (PROC_UNAVAIL)");
                case GARBAGE_ARGS -> throw new RpcRejectedException("the server could not decode the arguments "
                        + "(GARBAGE_ARGS)");
                case SYSTEM_ERR -> throw new RpcRejectedException("server system error (SYSTEM_ERR)");
                default -> throw new XdrException("unknown RPC accept status " + acceptStat);
            }
        }
        if (replyStat == MSG_DENIED) {
            int rejectStat = in.getInt();
            switch (rejectStat) {
                case RPC_MISMATCH -> throw new RpcRejectedException("RPC version mismatch (RPC_MISMATCH): the server "
                        + "speaks versions " + in.getUnsignedInt() + " to " + in.getUnsignedInt());
                case AUTH_ERROR -> throw new RpcRejectedException("authentication error (AUTH_ERROR " + in.getInt()
                        + ")");
                default -> throw new XdrException("unknown RPC reject status " + rejectStat);
            }
        }
        throw new XdrException("unknown RPC reply status " + replyStat);
    }
}
