package com.example.res;

import java.io.FileInputStream;
import java.util.ArrayList;

/** Streams opened and never closed, kept in a static list: the descriptor leak. */
public class LogReaders {
    public static final ArrayList<FileInputStream> sOpen = new ArrayList<>();
    public static final ArrayList<FileInputStream> sClosed = new ArrayList<>();
}
