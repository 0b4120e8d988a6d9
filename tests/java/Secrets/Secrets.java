import android.graphics.Bitmap;
import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * A heap full of a user's secrets, for the privacy test of oomlens strip. Dumps only live
 * objects (a full GC first), so no garbage copy of a secret is left behind.
 *
 * Three sets of secrets, never in the same objects:
 * - held in java.lang.String objects (an e-mail, a password with non-Latin-1 characters, so a
 *   UTF-16 String under compact strings, a card number, a bearer token) and the pixels of a
 *   Bitmap: `strip` at its default level must remove them;
 * - held only in loose char[] and byte[] arrays (UTF-8, UTF-16 big- and little-endian, Latin-1),
 *   never in a String: `strip --level arrays` must remove those too;
 * - a running thread's name, and a String field of that thread (a Courier): strip's default
 *   level keeps threads' names (the documented consequence: what an app puts into a thread's
 *   name stays readable) but removes every other String, the one next to the thread too; the
 *   name String is also held by a static field, and stays all the same. `--level arrays` and
 *   `--no-keep-thread-names` remove the name.
 * All are written here shifted by one character and unshifted at run time: set A into new
 * Strings, set B into arrays only, so no String holding a set B secret ever exists.
 * No secret is a string literal: HotSpot writes its whole symbol table into the dump as name
 * records (strip keeps names), and the text of every literal of a loaded class is a symbol.
 * tests/hprof/test_privacy.py holds the same values.
 */
public class Secrets {
    // jane.doe+oomlens@example.org, Pässwörd-Ωmega-ключ-42, 4929 1801 7433 8912,
    // Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.N0tSaWdodA (each shifted by one)
    static final String EMAIL = new String(unshift("kbof/epf,ppnmfotAfybnqmf/psh"));
    static final String PASSWORD = new String(unshift("Q\u00e5ttx\u00f7se.\u03aanfhb.\u043b\u043c\u044f\u0448.53"));
    static final String CARD = new String(unshift("5:3:!2912!8544!9:23"));
    static final String TOKEN = new String(unshift("Cfbsfs!fzKicHdjPjKJV{J2OjK:/d3WkdnW1MYSwb3Wv/O1uTbXepeB"));

    static String[] held;
    static Bitmap photo;
    static Object[] loose;
    static Courier courier;
    static String courierName;

    /** The pixels: a seeded pseudo-random pattern the test regenerates (same LCG). */
    static byte[] pixels(int n) {
        byte[] b = new byte[n];
        long x = 0x5eed;
        for (int i = 0; i < n; i++) {
            x = (x * 6364136223846793005L + 1442695040888963407L);
            b[i] = (byte) (x >>> 56);
        }
        return b;
    }

    /** The characters of a secret written one code unit higher. */
    static char[] unshift(String shifted) {
        char[] c = new char[shifted.length()];
        for (int i = 0; i < c.length; i++) {
            c[i] = (char) (shifted.charAt(i) - 1);
        }
        return c;
    }

    static byte[] encode(char[] chars, Charset charset) throws Exception {
        ByteBuffer bytes = charset.newEncoder().encode(CharBuffer.wrap(chars)).asReadOnlyBuffer();
        byte[] out = new byte[bytes.remaining()];
        bytes.get(out);
        return out;
    }

    public static void main(String[] args) throws Exception {
        // new Strings with the secrets' text (not only the interned literals)
        held = new String[] {EMAIL, PASSWORD, CARD, TOKEN, CARD.intern(),
                new String(EMAIL.toCharArray()), new StringBuilder(TOKEN).toString()};
        photo = new Bitmap(64, 64, pixels(64 * 64 * 4));

        // john.roe+vault@example.net, Geheimnis-Ωμέγα-7732, 5500 0055 5555 5559,
        // Bearer ghp_SeCrEtToKeN0123456789abcdef (each shifted by one)
        char[] email = unshift("kpio/spf,wbvmuAfybnqmf/ofu");
        char[] password = unshift("Hfifjnojt.\u03aa\u03bd\u03ae\u03b4\u03b2.8843");
        char[] card = unshift("6611!1166!6666!666:");
        char[] token = unshift("Cfbsfs!hiq`TfDsFuUpLfO123456789:bcdefg");
        loose = new Object[] {
            email, password, card, token,
            encode(email, StandardCharsets.UTF_8), encode(password, StandardCharsets.UTF_8),
            encode(card, StandardCharsets.UTF_16BE), encode(token, StandardCharsets.UTF_16LE),
            encode(password, StandardCharsets.UTF_16LE), encode(email, StandardCharsets.ISO_8859_1),
            encode(card, StandardCharsets.ISO_8859_1), encode(token, StandardCharsets.UTF_8),
        };
        // upload-for-olga.petrova@example.com, IBAN DE89 3704 0044 0532 0130 00 (shifted)
        CountDownLatch release = new CountDownLatch(1);
        courier = new Courier(new String(unshift("vqmpbe.gps.pmhb/qfuspwbAfybnqmf/dpn")),
                new String(unshift("JCBO!EF9:!4815!1155!1643!1241!11")), release);
        courier.start();
        courierName = courier.getName();
        HotSpotDiagnosticMXBean bean =
                ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        bean.dumpHeap(args[0], true);
        release.countDown();
        courier.join();
    }
}

/** A thread named after a user, carrying a String of theirs. */
class Courier extends Thread {
    final String parcel;
    private final CountDownLatch release;

    Courier(String name, String parcel, CountDownLatch release) {
        super(name);
        this.parcel = parcel;
        this.release = release;
    }

    @Override
    public void run() {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
