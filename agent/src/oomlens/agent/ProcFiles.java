package oomlens.agent;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Reads the small text files of /proc and /sys. Not with {@code Files.readAllBytes}: these files
 * say their size is 0, so it reads one byte first and then the rest, and a sysctl file such as
 * /proc/sys/kernel/threads-max answers only a read at offset 0 (threads-max "192724" came back
 * as "1"). One read with a buffer larger than the file gets all of it.
 */
final class ProcFiles {
    private ProcFiles() {
    }

    /** The file's text, or null when it cannot be read (missing, not Linux). */
    static String read(String path) {
        byte[] buffer = new byte[16 * 1024];
        try (FileInputStream in = new FileInputStream(path)) {
            int length = 0;
            int n;
            while (length < buffer.length
                    && (n = in.read(buffer, length, buffer.length - length)) > 0) {
                length += n;
            }
            return new String(buffer, 0, length, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException missing) {
            return null;
        }
    }
}
