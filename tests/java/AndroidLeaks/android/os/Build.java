package android.os;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class Build {
    public static String MANUFACTURER;

    public static class VERSION {
        public static int SDK_INT;
    }
}
