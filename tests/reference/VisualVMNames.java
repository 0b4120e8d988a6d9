// Names as VisualVM's heap library (org.graalvm.visualvm.lib.jfluid.heap) sees them in one HPROF
// file: every class with its instance count and declared fields, the field values of the
// instances of the classes asked for, and the threads' stack traces. oomlens' deobfuscate tests
// use it to show that another tool reads the real names from a rewritten dump.
//
// Usage:
//   java -cp <visualvm-heap-jar>:<classdir> VisualVMNames DUMP.hprof OUT.json [CLASS...]
//
// OUT.json: {"classes": [{"name", "id", "instances", "fields": [...], "statics": [...]}],
//            "instances": [{"class", "id", "values": {field: value}}] (for each CLASS given:
//                          first its static fields, marked "statics": true, then each instance),
//            "threads": [[frame, ...], ...]}
// A value is the primitive's text, an object reference as "0x<id>", or null. Frames are
// StackTraceElement.toString(). On error one line "VisualVMNames: error: ..." and status 1.

import java.io.File;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import org.graalvm.visualvm.lib.jfluid.heap.Field;
import org.graalvm.visualvm.lib.jfluid.heap.FieldValue;
import org.graalvm.visualvm.lib.jfluid.heap.GCRoot;
import org.graalvm.visualvm.lib.jfluid.heap.Heap;
import org.graalvm.visualvm.lib.jfluid.heap.HeapFactory;
import org.graalvm.visualvm.lib.jfluid.heap.Instance;
import org.graalvm.visualvm.lib.jfluid.heap.JavaClass;
import org.graalvm.visualvm.lib.jfluid.heap.ObjectFieldValue;
import org.graalvm.visualvm.lib.jfluid.heap.ThreadObjectGCRoot;

public class VisualVMNames {

    public static void main(String[] args) {
        try {
            if (args.length < 2) {
                System.err.println("usage: VisualVMNames DUMP.hprof OUT.json [CLASS...]");
                System.exit(2);
            }
            run(args);
        } catch (Throwable t) {
            String msg = t.getMessage();
            String line = t.getClass().getName() + (msg == null ? "" : ": " + msg);
            System.err.println("VisualVMNames: error: " + line.replace('\n', ' '));
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        Heap heap = HeapFactory.createHeap(new File(args[0]));
        StringBuilder out = new StringBuilder("{\"classes\": [\n");
        boolean first = true;
        for (JavaClass cls : heap.getAllClasses()) {
            List<String> fields = new ArrayList<>();
            List<String> statics = new ArrayList<>();
            for (Field f : cls.getFields()) {
                if (!f.isStatic()) {
                    fields.add(f.getName());
                }
            }
            for (FieldValue v : cls.getStaticFieldValues()) {
                statics.add(v.getField().getName());
            }
            out.append(first ? "" : ",\n").append("{\"name\": ").append(quote(cls.getName()))
               .append(", \"id\": ").append(quote(hex(cls.getJavaClassId())))
               .append(", \"instances\": ").append(cls.getInstancesCount())
               .append(", \"fields\": ").append(list(fields))
               .append(", \"statics\": ").append(list(statics)).append("}");
            first = false;
        }
        out.append("],\n\"instances\": [\n");
        first = true;
        for (int a = 2; a < args.length; a++) {
            JavaClass cls = heap.getJavaClassByName(args[a]);
            if (cls == null) {
                continue;
            }
            out.append(first ? "" : ",\n").append("{\"class\": ").append(quote(args[a]))
               .append(", \"id\": ").append(quote(hex(cls.getJavaClassId())))
               .append(", \"statics\": true, \"values\": {");
            boolean firstStatic = true;
            for (FieldValue v : cls.getStaticFieldValues()) {
                out.append(firstStatic ? "" : ", ").append(quote(v.getField().getName()))
                   .append(": ").append(value(v));
                firstStatic = false;
            }
            out.append("}}");
            first = false;
            for (Instance instance : cls.getInstances()) {
                out.append(first ? "" : ",\n").append("{\"class\": ").append(quote(args[a]))
                   .append(", \"id\": ").append(quote(hex(instance.getInstanceId())))
                   .append(", \"values\": {");
                boolean firstValue = true;
                for (FieldValue v : instance.getFieldValues()) {
                    out.append(firstValue ? "" : ", ").append(quote(v.getField().getName()))
                       .append(": ").append(value(v));
                    firstValue = false;
                }
                out.append("}}");
                first = false;
            }
        }
        out.append("],\n\"threads\": [\n");
        first = true;
        Collection<GCRoot> roots = heap.getGCRoots();
        for (GCRoot root : roots) {
            if (!(root instanceof ThreadObjectGCRoot)) {
                continue;
            }
            StackTraceElement[] trace = ((ThreadObjectGCRoot) root).getStackTrace();
            List<String> frames = new ArrayList<>();
            if (trace != null) {
                for (StackTraceElement e : trace) {
                    frames.add(e.toString());
                }
            }
            out.append(first ? "" : ",\n").append(list(frames));
            first = false;
        }
        out.append("]}\n");
        try (Writer w = Files.newBufferedWriter(Path.of(args[1]), StandardCharsets.UTF_8)) {
            w.write(out.toString());
        }
    }

    private static String value(FieldValue v) {
        if (v instanceof ObjectFieldValue) {
            Instance target = ((ObjectFieldValue) v).getInstance();
            return target == null ? "null" : quote(hex(target.getInstanceId()));
        }
        return quote(v.getValue());
    }

    private static String hex(long id) {
        return "0x" + Long.toHexString(id);
    }

    private static String list(List<String> items) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            b.append(i == 0 ? "" : ", ").append(quote(items.get(i)));
        }
        return b.append("]").toString();
    }

    private static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append("\"").toString();
    }
}
