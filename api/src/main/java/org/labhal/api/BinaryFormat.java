package org.labhal.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * How numbers are packed in the data of a binary block: the element type (SCPI
 * {@code FORMat[:DATA]}) and the byte order ({@code FORMat:BORDer}). The constants are big-endian,
 * SCPI's {@code NORMal} order; {@link #withByteOrder} gives the {@code SWAPped} one:
 *
 * <pre>{@code
 * session.write("FORM REAL,32;:FORM:BORD SWAP");
 * double[] trace = session.queryBinaryValues("TRAC? TRACE1",
 *         BinaryFormat.REAL32.withByteOrder(ByteOrder.LITTLE_ENDIAN));
 * }</pre>
 *
 * Every element type's values fit a {@code double} exactly, so numbers are exchanged as
 * {@code double[]}. Immutable and thread-safe; compare with {@link #equals}.
 */
public final class BinaryFormat {

    /** Signed 8-bit integers, -128 to 127. */
    public static final BinaryFormat INT8 = new BinaryFormat(Type.INT8, ByteOrder.BIG_ENDIAN);
    /** Unsigned 8-bit integers, 0 to 255 (e.g. Tektronix {@code RPBinary}, Keysight {@code :WAV:UNS ON}). */
    public static final BinaryFormat UINT8 = new BinaryFormat(Type.UINT8, ByteOrder.BIG_ENDIAN);
    /** Signed 16-bit integers, big-endian. */
    public static final BinaryFormat INT16 = new BinaryFormat(Type.INT16, ByteOrder.BIG_ENDIAN);
    /** Unsigned 16-bit integers, big-endian. */
    public static final BinaryFormat UINT16 = new BinaryFormat(Type.UINT16, ByteOrder.BIG_ENDIAN);
    /** Signed 32-bit integers, big-endian. */
    public static final BinaryFormat INT32 = new BinaryFormat(Type.INT32, ByteOrder.BIG_ENDIAN);
    /** IEEE 754 single precision ({@code FORM REAL,32}), big-endian. */
    public static final BinaryFormat REAL32 = new BinaryFormat(Type.REAL32, ByteOrder.BIG_ENDIAN);
    /** IEEE 754 double precision ({@code FORM REAL,64}), big-endian. */
    public static final BinaryFormat REAL64 = new BinaryFormat(Type.REAL64, ByteOrder.BIG_ENDIAN);

    private enum Type {
        INT8(1, -128, 127), UINT8(1, 0, 255), INT16(2, Short.MIN_VALUE, Short.MAX_VALUE), UINT16(2, 0, 65535),
        INT32(4, Integer.MIN_VALUE, Integer.MAX_VALUE), REAL32(4, 0, 0), REAL64(8, 0, 0);

        final int size;
        final long min;
        final long max;

        Type(int size, long min, long max) {
            this.size = size;
            this.min = min;
            this.max = max;
        }

        boolean integer() {
            return this != REAL32 && this != REAL64;
        }
    }

    private final Type type;
    private final ByteOrder order;

    private BinaryFormat(Type type, ByteOrder order) {
        this.type = type;
        this.order = order;
    }

    /**
     * @param byteOrder the byte order of multi-byte elements
     * @return this element type in that byte order
     */
    public BinaryFormat withByteOrder(ByteOrder byteOrder) {
        Objects.requireNonNull(byteOrder, "byteOrder");
        return byteOrder == order ? this : new BinaryFormat(type, byteOrder);
    }

    /** @return the byte order of multi-byte elements (irrelevant, but kept, for 8-bit ones) */
    public ByteOrder byteOrder() {
        return order;
    }

    /** @return the size of one element in bytes: 1, 2, 4 or 8 */
    public int elementSize() {
        return type.size;
    }

    /**
     * Packs numbers, e.g. as the data of {@link Session#writeBlock(String, byte[])}.
     *
     * @param values the numbers; for an integer type each must be a whole number in the type's
     *        range, for {@code REAL32} within float range (it is rounded to float precision)
     * @return {@code values.length * elementSize()} bytes
     * @throws IllegalArgumentException naming the index and value of the first number this format
     *         cannot hold, or when the result would exceed 2 GiB
     */
    public byte[] encode(double... values) {
        Objects.requireNonNull(values, "values");
        if ((long) values.length * type.size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(values.length + " values of " + this + " exceed 2 GiB");
        }
        ByteBuffer out = ByteBuffer.allocate(values.length * type.size).order(order);
        for (int i = 0; i < values.length; i++) {
            double value = values[i];
            if (type.integer() && !(value == Math.rint(value) && value >= type.min && value <= type.max)) {
                throw new IllegalArgumentException("value " + value + " at index " + i + " is not a whole number in "
                        + type.min + ".." + type.max + " as " + type + " needs");
            }
            switch (type) {
                case INT8, UINT8 -> out.put((byte) (long) value);
                case INT16, UINT16 -> out.putShort((short) (long) value);
                case INT32 -> out.putInt((int) value);
                case REAL32 -> {
                    float single = (float) value;
                    if (Float.isInfinite(single) && !Double.isInfinite(value)) {
                        throw new IllegalArgumentException("value " + value + " at index " + i
                                + " is beyond REAL32's range of +-" + Float.MAX_VALUE);
                    }
                    out.putFloat(single);
                }
                case REAL64 -> out.putDouble(value);
                default -> throw new AssertionError(type);
            }
        }
        return out.array();
    }

    /**
     * Unpacks numbers, e.g. from the data of {@link Session#queryBlock(String)}.
     *
     * @param data the packed elements
     * @return one number per element, in order
     * @throws IllegalArgumentException when {@code data} is not a whole number of elements
     */
    public double[] decode(byte[] data) {
        Objects.requireNonNull(data, "data");
        if (data.length % type.size != 0) {
            throw new IllegalArgumentException(data.length + " bytes are not a whole number of " + this + " values ("
                    + type.size + " bytes each)");
        }
        ByteBuffer in = ByteBuffer.wrap(data).order(order);
        double[] values = new double[data.length / type.size];
        for (int i = 0; i < values.length; i++) {
            values[i] = switch (type) {
                case INT8 -> data[i];
                case UINT8 -> data[i] & 0xFF;
                case INT16 -> in.getShort(i * 2);
                case UINT16 -> in.getShort(i * 2) & 0xFFFF;
                case INT32 -> in.getInt(i * 4);
                case REAL32 -> in.getFloat(i * 4);
                case REAL64 -> in.getDouble(i * 8);
            };
        }
        return values;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof BinaryFormat format && format.type == type && format.order.equals(order);
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + order.hashCode();
    }

    /** @return e.g. {@code REAL32 big-endian} */
    @Override
    public String toString() {
        return type + (order == ByteOrder.BIG_ENDIAN ? " big-endian" : " little-endian");
    }
}
