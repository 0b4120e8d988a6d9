package com.example.app;

/** Holders of variant d's scenarios (S18-S20). */
public class RuleHolders {
    public static MyActivity sShadowDestroyed;
    public static MyActivity sShadowAlive;
    public static LabelView sLabelLeaking;
    public static LabelView sLabelAlive;
    public static ChainView sChain;
    public static ChainView sLoop;
}
