package com.example.app;

import java.util.ArrayDeque;

public class Prefetcher {
    public static ArrayDeque<ArticleCell> sQueue;
}
