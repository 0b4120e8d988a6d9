package android.graphics;

/**
 * Stand-in for Android's Bitmap as Android 3.0-7.1 lays it out: the pixels live in a Java byte[]
 * (mBuffer); a null buffer means the pixels are in native memory, as on Android 8 and later.
 */
public final class Bitmap {
    public int mWidth;
    public int mHeight;
    public byte[] mBuffer;
    public boolean mRecycled;

    public Bitmap(int width, int height, byte[] buffer) {
        mWidth = width;
        mHeight = height;
        mBuffer = buffer;
    }

    /** As Android's recycle(): the pixels are released. */
    public void recycle() {
        mBuffer = null;
        mRecycled = true;
    }
}
