package oomlens.agent;

/**
 * {@code java -jar oomlens-agent.jar}: the agent's options, as a table (what
 * {@code oomlens agent options} prints). The jar is an agent, not a program.
 */
public final class Help {
    private Help() {
    }

    public static void main(String[] args) {
        int width = 0;
        for (String[] row : Options.TABLE) {
            width = Math.max(width, row[0].length() + 1 + row[2].length());
        }
        StringBuilder out = new StringBuilder("oomlens-agent: -javaagent:oomlens-agent.jar="
                + "spool=DIR[,key=value...]\nAlso -Doomlens.KEY=VALUE or OOMLENS_AGENT_KEY=VALUE"
                + " (in this order of precedence, after the agent argument).\n\n");
        for (String[] row : Options.TABLE) {
            String key = row[0] + "=" + row[2];
            out.append("  ").append(key);
            for (int i = key.length(); i < width + 2; i++) {
                out.append(' ');
            }
            out.append(row[3]);
            if (!row[1].isEmpty()) {
                out.append(" [default: ").append(row[1]).append(']');
            }
            out.append('\n');
        }
        System.out.print(out);
    }
}
