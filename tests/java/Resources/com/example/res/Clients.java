package com.example.res;

import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

public class Clients {
    public final List<Socket> connections = new ArrayList<>();
}
