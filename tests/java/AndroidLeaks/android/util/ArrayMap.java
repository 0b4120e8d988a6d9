package android.util;

/** Stand-in for the Android framework class of the same name: key i at mArray[2i], its value at
 *  mArray[2i + 1]. */
public class ArrayMap {
    public Object[] mArray = new Object[8];
    public int mSize;

    public void put(Object key, Object value) {
        if (2 * mSize + 2 > mArray.length) {
            mArray = java.util.Arrays.copyOf(mArray, mArray.length * 2);
        }
        mArray[2 * mSize] = key;
        mArray[2 * mSize + 1] = value;
        mSize++;
    }
}
