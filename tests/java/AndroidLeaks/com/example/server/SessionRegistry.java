package com.example.server;

public class SessionRegistry {
    public static Session[] sSessions;
}
