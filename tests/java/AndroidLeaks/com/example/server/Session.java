package com.example.server;

public class Session {
    public Object owner;
}
