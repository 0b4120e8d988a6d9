package android.graphics;

/**
 * Stand-in for Android's Bitmap as Android 3.0-7.1 lays it out: the pixels live in a Java byte[]
 * (mBuffer), which is what oomlens strip removes at its default level.
 */
public final class Bitmap {
    public int mWidth;
    public int mHeight;
    public byte[] mBuffer;

    public Bitmap(int width, int height, byte[] buffer) {
        mWidth = width;
        mHeight = height;
        mBuffer = buffer;
    }
}
