package com.example.res;

import java.io.RandomAccessFile;

public class Journal {
    public RandomAccessFile file;
}
