package com.example.app;

public class ArticleCell {
    public byte[] image;
}
