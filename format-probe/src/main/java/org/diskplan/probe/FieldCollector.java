package org.diskplan.probe;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Remembers, for the probe running on this thread, every field list a {@link FieldReader}
 * writes into, so that {@link ImageProber} can show what was parsed when the probe fails.
 * A nested probe (a VMDK extent, a backing file) joins the outer one's collection.
 */
final class FieldCollector {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).
    private static final ThreadLocal<FieldCollector> CURRENT = new ThreadLocal<>();

    private final Set<List<HeaderField>> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<List<HeaderField>> sinks = new ArrayList<>();

    private FieldCollector() {
    }

    /** Starts collecting on this thread; returns null when a collection is already running. */
    static FieldCollector start() {
        if (CURRENT.get() != null) {
            return null;
        }
        FieldCollector c = new FieldCollector();
        CURRENT.set(c);
        return c;
    }

    /** Called by every {@link FieldReader}: its sink is part of the running probe's result. */
    static void register(List<HeaderField> sink) {
        FieldCollector c = CURRENT.get();
        if (c != null && c.seen.add(sink)) {
            c.sinks.add(sink);
        }
    }

    List<List<HeaderField>> sinks() {
        List<List<HeaderField>> copies = new ArrayList<>(sinks.size());
        for (List<HeaderField> sink : sinks) {
            copies.add(List.copyOf(sink));
        }
        return Collections.unmodifiableList(copies);
    }

    void stop() {
        CURRENT.remove();
    }
}
