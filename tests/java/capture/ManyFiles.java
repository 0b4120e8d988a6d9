import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens one file again and again, holding every stream (FileOwner, in a static field), until the
 * process has N descriptors open (counted in /proc/self/fd); stays for a while, closes them and
 * exits 0. Run it under a lowered `ulimit -n` to come near the limit.
 *
 * Args: N, seconds to stay alive (default 3), folder for the file (default java.io.tmpdir).
 */
public class ManyFiles {
    static final FileOwner OWNER = new FileOwner();

    static final class FileOwner {
        final List<FileInputStream> streams = new ArrayList<>();
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        int target = Integer.parseInt(args[0]);
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        File dir = new File(args.length > 2 ? args[2] : System.getProperty("java.io.tmpdir"));
        File file = File.createTempFile("manyfiles-", ".txt", dir);
        file.deleteOnExit();
        Files.write(file.toPath(), "held open\n".getBytes("UTF-8"));
        while (openDescriptors() < target) {
            OWNER.streams.add(new FileInputStream(file));
        }
        System.out.println("ManyFiles: " + openDescriptors() + " descriptors open, "
                + OWNER.streams.size() + " held by FileOwner");
        Thread.sleep(Math.round(seconds * 1000));
        for (FileInputStream s : OWNER.streams) {
            s.close();
        }
        System.out.println("ManyFiles: done");
    }

    static int openDescriptors() {
        String[] fds = new File("/proc/self/fd").list();
        return fds == null ? 0 : fds.length - 1; // less the one listing the folder
    }
}
