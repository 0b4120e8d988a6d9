package com.example.app;

/** A CharSequence with a span that references an Activity (the text itself is empty). */
public class SpannedText implements CharSequence {
    public Object span;

    @Override
    public int length() {
        return 0;
    }

    @Override
    public char charAt(int index) {
        throw new IndexOutOfBoundsException(index);
    }

    @Override
    public CharSequence subSequence(int start, int end) {
        return this;
    }

    @Override
    public String toString() {
        return "";
    }
}
