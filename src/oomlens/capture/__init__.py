"""The capture end: the JVM agent that writes dumps into a spool (its jar is shipped here,
built from ``agent/`` by the install), and the client that strips, packs and uploads them
(``oomlens upload``, ``oomlens watch``). The spool and sidecar protocol is docs/capture.md."""
