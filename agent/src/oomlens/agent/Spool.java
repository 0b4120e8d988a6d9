package oomlens.agent;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;

/**
 * The folder the agent writes its captures into (docs/capture.md, "Files in the spool"). It is
 * made when missing and proven writable at start, by creating and deleting a probe file: finding
 * out at the first OutOfMemoryError that it cannot be written would lose the one dump that
 * mattered.
 */
final class Spool {
    final Path dir;

    private Spool(Path dir) {
        this.dir = dir;
    }

    /** Thrown when the spool cannot be used; the message is the reason ("Permission denied"). */
    static final class Unusable extends Exception {
        private static final long serialVersionUID = 1L;

        Unusable(String reason) {
            super(reason);
        }
    }

    static Spool open(String path, long pid) throws Unusable {
        Path dir = Paths.get(path).toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
            Path probe = dir.resolve(".oomlens-agent-probe-" + pid);
            Files.deleteIfExists(probe);
            Files.createFile(probe);
            Files.delete(probe);
        } catch (IOException e) {
            throw new Unusable(reason(e));
        } catch (SecurityException e) {
            throw new Unusable("a security manager refused: " + e.getMessage());
        }
        return new Spool(dir);
    }

    Path file(String name) {
        return dir.resolve(name);
    }

    /** Bytes a new file may take on the spool's disk (0 when it cannot be told). */
    long usableBytes() {
        return dir.toFile().getUsableSpace();
    }

    /**
     * {@code <app>-<stamp>-<pid>-<trigger>}: the base name all files of one capture share, with
     * the app name reduced to {@code [A-Za-z0-9._-]}, at most 64 characters.
     */
    static String baseName(String app, long epochMillis, long pid, Trigger trigger) {
        return safeName(app) + "-" + UtcTime.stamp(epochMillis) + "-" + pid + "-" + trigger.wire;
    }

    static String safeName(String app) {
        StringBuilder out = new StringBuilder(Math.min(app.length(), 64));
        for (int i = 0; i < app.length() && out.length() < 64; i++) {
            char c = app.charAt(i);
            boolean plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                    || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
            out.append(plain ? c : '_');
        }
        return out.toString();
    }

    /** Why an operation failed, as the operating system said it: "Permission denied". */
    static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException) {
            return "it exists and is not a folder";
        }
        if (e instanceof FileSystemException && ((FileSystemException) e).getReason() != null) {
            return ((FileSystemException) e).getReason();
        }
        return Log.describe(e);
    }

    /** Writes {@code file} through {@code file.tmp} and a rename: a reader sees all of it or
     *  none (the sidecar, the state file). */
    static void writeAtomically(Path file, byte[] content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, content);
        rename(tmp, file);
    }

    /** An atomic rename where the file system has one, a plain replacing move elsewhere. */
    static void rename(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
