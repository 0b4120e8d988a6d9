package com.example.app;

import androidx.fragment.app.Fragment;

public class ProfileFragment extends Fragment {
    public byte[] payload;
}
