import android.graphics.Bitmap;
import com.example.res.Clients;
import com.example.res.Gallery;
import com.example.res.IconCache;
import com.example.res.Journal;
import com.example.res.LogReaders;
import com.example.res.Server;
import com.example.res.Wallpaper;
import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FileWriter;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bitmaps (through a stand-in android.graphics.Bitmap) and open file descriptors, for the bitmap
 * and descriptor analyses. Writes what it made to DUMP.facts (key=value lines) and dumps its heap
 * with everything still open and referenced.
 */
public class Resources {
    static final int GALLERY_COPIES = 3, PHOTO_W = 1000, PHOTO_H = 500;
    static final int WALLPAPER_W = 2000, WALLPAPER_H = 1000;
    static final int ICONS = 4, ICON_W = 32, ICON_H = 32;
    static final int PREVIEW_W = 640, PREVIEW_H = 480;
    static final int OPEN_READERS = 7, CLOSED_READERS = 2, SOCKETS = 3;

    static Gallery gallery;
    static Wallpaper wallpaper;
    static IconCache iconCache;
    static Bitmap recycled;
    static Journal journal;
    static Clients clients;
    static Server server;

    /** Pixels of a picture: 4 bytes per pixel, a pattern that depends on the seed, never all 0. */
    static byte[] pixels(int width, int height, int seed) {
        byte[] buffer = new byte[width * height * 4];
        for (int i = 0; i < buffer.length; i++) {
            buffer[i] = (byte) (i * 31 + seed * 17 + (i >> 10) + 1);
        }
        return buffer;
    }

    public static void main(String[] args) throws Exception {
        Map<String, Object> facts = new LinkedHashMap<>();

        gallery = new Gallery();
        for (int i = 0; i < GALLERY_COPIES; i++) {
            gallery.images.add(new Bitmap(PHOTO_W, PHOTO_H, pixels(PHOTO_W, PHOTO_H, 0)));
        }
        facts.put("gallery.count", GALLERY_COPIES);
        facts.put("gallery.width", PHOTO_W);
        facts.put("gallery.height", PHOTO_H);
        facts.put("gallery.buffer_bytes", gallery.images.get(0).mBuffer.length);

        wallpaper = new Wallpaper();
        wallpaper.background = new Bitmap(WALLPAPER_W, WALLPAPER_H,
                pixels(WALLPAPER_W, WALLPAPER_H, 1));
        wallpaper.preview = new Bitmap(PREVIEW_W, PREVIEW_H, null);
        facts.put("wallpaper.buffer_bytes", wallpaper.background.mBuffer.length);

        iconCache = new IconCache();
        for (int i = 0; i < ICONS; i++) {
            iconCache.icons.put("icon" + i, new Bitmap(ICON_W, ICON_H, pixels(ICON_W, ICON_H, 2 + i)));
        }
        facts.put("icons.count", ICONS);
        facts.put("icons.buffer_bytes", ICON_W * ICON_H * 4);

        recycled = new Bitmap(100, 100, pixels(100, 100, 9));
        recycled.recycle();
        facts.put("bitmaps.count", GALLERY_COPIES + 2 + ICONS + 1);
        facts.put("bitmaps.recycled", 1);
        long heapBytes = (long) GALLERY_COPIES * gallery.images.get(0).mBuffer.length
                + wallpaper.background.mBuffer.length + (long) ICONS * ICON_W * ICON_H * 4;
        facts.put("bitmaps.heap_bytes", heapBytes);
        facts.put("preview.width", PREVIEW_W);
        facts.put("preview.height", PREVIEW_H);

        File file = File.createTempFile("oomlens-resources", ".log");
        file.deleteOnExit();
        try (FileOutputStream out = new FileOutputStream(file)) {
            out.write("some log lines\n".getBytes("UTF-8"));
        }
        for (int i = 0; i < OPEN_READERS; i++) {
            LogReaders.sOpen.add(new FileInputStream(file));
        }
        for (int i = 0; i < CLOSED_READERS; i++) {
            FileInputStream in = new FileInputStream(file);
            in.close();
            LogReaders.sClosed.add(in);
        }
        journal = new Journal();
        journal.file = new RandomAccessFile(file, "rw");

        server = new Server();
        server.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        clients = new Clients();
        for (int i = 0; i < SOCKETS; i++) {
            clients.connections.add(new Socket(InetAddress.getLoopbackAddress(),
                    server.listener.getLocalPort()));
            server.accepted.add(server.listener.accept());
        }
        facts.put("readers.open", OPEN_READERS);
        facts.put("readers.closed", CLOSED_READERS);
        facts.put("sockets.clients", SOCKETS);

        try (PrintWriter w = new PrintWriter(new FileWriter(args[0] + ".facts"))) {
            for (Map.Entry<String, Object> e : facts.entrySet()) {
                w.println(e.getKey() + "=" + e.getValue());
            }
        }
        HotSpotDiagnosticMXBean bean =
                ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        bean.dumpHeap(args[0], false);

        for (Socket s : clients.connections) s.close();
        for (Socket s : server.accepted) s.close();
        server.listener.close();
        journal.file.close();
        for (FileInputStream in : LogReaders.sOpen) in.close();
    }
}
