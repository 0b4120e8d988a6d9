package com.example.app;

import android.app.Fragment;

public class LegacyFragment extends Fragment {
    public byte[] payload;

    /** An anonymous class (LegacyFragment$1): its only field is this$0, the fragment. */
    public Runnable refreshTask() {
        return new Runnable() {
            @Override
            public void run() {
                payload[0]++;
            }
        };
    }
}
