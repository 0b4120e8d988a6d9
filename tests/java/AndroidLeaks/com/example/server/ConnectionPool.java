package com.example.server;

import java.util.ArrayList;

public class ConnectionPool {
    public static ArrayList<Connection> sAll;
}
