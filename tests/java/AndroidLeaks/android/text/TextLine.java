package android.text;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class TextLine {
    public static TextLine[] sCached = new TextLine[3];

    public CharSequence mText;
}
