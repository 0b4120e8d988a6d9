package com.example.res;

import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

public class Server {
    public ServerSocket listener;
    public final List<Socket> accepted = new ArrayList<>();
}
