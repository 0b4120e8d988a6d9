package oomlens.agent;

/**
 * {@code java -jar oomlens-agent.jar}: the agent's options, as a table (what
 * {@code oomlens agent options} prints). The jar is an agent, not a program.
 */
public final class Help {
    private static final int LINE = 100;

    private Help() {
    }

    private static String pad(String s, int width) {
        StringBuilder out = new StringBuilder(s);
        while (out.length() < width) {
            out.append(' ');
        }
        return out.toString();
    }

    public static void main(String[] args) {
        int width = 0;
        for (String[] row : Options.TABLE) {
            width = Math.max(width, row[0].length() + 1 + row[2].length());
        }
        StringBuilder out = new StringBuilder("oomlens-agent: -javaagent:oomlens-agent.jar="
                + "spool=DIR[,key=value...]\nAlso -Doomlens.KEY=VALUE or OOMLENS_AGENT_KEY=VALUE"
                + " (the agent argument first,\nthen system properties, then the environment)."
                + "\n\n");
        for (String[] row : Options.TABLE) {
            String text = row[3] + (row[1].isEmpty() ? "" : " [default: " + row[1] + "]");
            out.append(pad("  " + row[0] + "=" + row[2], width + 4));
            int column = width + 4;
            for (String word : text.split(" ")) {
                if (column + 1 + word.length() > LINE && column > width + 4) {
                    out.append('\n').append(pad("", width + 4));
                    column = width + 4;
                }
                out.append(column > width + 4 ? " " : "").append(word);
                column += (column > width + 4 ? 1 : 0) + word.length();
            }
            out.append('\n');
        }
        System.out.print(out);
    }
}
