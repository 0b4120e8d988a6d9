package com.example.app;

import android.os.MessageQueue;

public class Workers {
    public static MessageQueue sQueue;
}
