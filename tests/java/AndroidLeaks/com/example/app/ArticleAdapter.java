package com.example.app;

import java.util.ArrayList;

public class ArticleAdapter {
    public ArrayList<ArticleCell> cells;
}
