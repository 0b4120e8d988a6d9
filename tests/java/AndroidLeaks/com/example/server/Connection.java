package com.example.server;

public class Connection {
    public boolean closed;
    public String state;
    public Object owner;
}
