package oomlens.agent;

/** What made the agent take a dump; {@code wire} is the name in file names and the sidecar. */
enum Trigger {
    OOM("oom"),
    HEAP("heap-threshold"),
    THREADS("thread-threshold"),
    FDS("fd-threshold");

    final String wire;

    Trigger(String wire) {
        this.wire = wire;
    }
}
