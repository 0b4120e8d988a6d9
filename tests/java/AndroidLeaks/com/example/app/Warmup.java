package com.example.app;

import java.util.ArrayList;

public class Warmup {
    /** Variant b: unrelated live objects allocated first, so every id differs from a. */
    public static ArrayList<Object> sKeep;
}
