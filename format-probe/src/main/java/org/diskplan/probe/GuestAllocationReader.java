package org.diskplan.probe;

import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * One format's block map read as guest allocation. Implementations live in their
 * format's package and are found through {@link java.util.ServiceLoader}.
 */
public interface GuestAllocationReader {

    /** Whether this reader knows the image's map (its header type and the features it reads). */
    boolean reads(ProbedImage image);

    /**
     * Reports each mapped guest range of {@code [from, to)} to {@code sink}, in guest order,
     * reading the map from {@code file} in bounded pieces ({@link TableEntries}).
     *
     * @throws IOException when the map cannot be read (it ends early, a table lies past the file)
     */
    void scan(ProbedImage image, FileChannel file, long from, long to, RangeSink sink) throws IOException;

    /**
     * A reader of the images whose header is an {@code H}: it says which of those headers
     * it knows ({@link #knows}) and scans one ({@link #scan(FormatHeader, FileChannel, long, long, RangeSink)});
     * the type check and the cast are made once, here.
     */
    interface OfHeader<H extends FormatHeader> extends GuestAllocationReader {
        /** The header type this reader reads. */
        Class<H> headerType();

        /** Whether this header's map can be read (the features and fields it needs). */
        boolean knows(H header);

        /** {@link GuestAllocationReader#scan} with the image's header, typed. */
        void scan(H header, FileChannel file, long from, long to, RangeSink sink) throws IOException;

        @Override
        default boolean reads(ProbedImage image) {
            return headerType().isInstance(image.header()) && knows(headerType().cast(image.header()));
        }

        @Override
        default void scan(ProbedImage image, FileChannel file, long from, long to, RangeSink sink) throws IOException {
            scan(headerType().cast(image.header()), file, from, to, sink);
        }
    }

    /** Receives the mapped ranges in guest order. */
    @FunctionalInterface
    interface RangeSink {
        void mapped(long start, long end);

        /**
         * A mapped guest range with the file bytes that hold it: {@code hostLength} bytes at
         * {@code hostStart} ({@code end - start} for a plain block, the compressed extent for a
         * compressed cluster). A reader reports each range through this method when it knows where
         * it lies; a sink that only counts guest bytes needs only {@link #mapped(long, long)}.
         */
        default void mapped(long start, long end, long hostStart, long hostLength) {
            mapped(start, end);
        }
    }
}
