// Reference harness: runs VisualVM's heap library (org.graalvm.visualvm.lib.jfluid.heap)
// over one HPROF file and writes what it computes, so that oomlens' tests can
// compare their own numbers against it.
//
// Usage:
//   java -cp <visualvm-heap-jar>:<classdir> VisualVMReference DUMP.hprof OUTDIR [--retained]
//
// Writes OUTDIR/classes.csv, OUTDIR/objects.csv and OUTDIR/summary.json.
// Progress goes to stderr; on error a single line "VisualVMReference: error: ..."
// is printed and the exit status is 1 (2 for a usage error).
//
// Only the public API of the heap library is called, except for summary.json's
// size-model parameters, which are read by reflection from package-private
// classes (best effort: a failure there is reported in the JSON, never fatal).

import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;

import org.graalvm.visualvm.lib.jfluid.heap.GCRoot;
import org.graalvm.visualvm.lib.jfluid.heap.Heap;
import org.graalvm.visualvm.lib.jfluid.heap.HeapFactory;
import org.graalvm.visualvm.lib.jfluid.heap.HeapSummary;
import org.graalvm.visualvm.lib.jfluid.heap.Instance;
import org.graalvm.visualvm.lib.jfluid.heap.JavaClass;

public class VisualVMReference {

    private static final String LIB_PACKAGE = "org.graalvm.visualvm.lib.jfluid.heap";
    private static final long PROGRESS_EVERY = 200_000;

    /** Messages the library logs at CONFIG level (its size-model decisions). */
    private static final List<String> libraryLog = new ArrayList<>();
    /** Strong reference so the configured logger is not garbage collected. */
    private static Logger libraryLogger;

    public static void main(String[] args) {
        try {
            System.exit(run(args));
        } catch (Throwable t) {
            String msg = t.getMessage();
            String line = t.getClass().getName() + (msg == null ? "" : ": " + msg);
            System.err.println("VisualVMReference: error: " + line.replace('\n', ' '));
            System.exit(1);
        }
    }

    private static int run(String[] args) throws Exception {
        String dumpArg = null;
        String outArg = null;
        boolean retained = false;
        for (String a : args) {
            if (a.equals("--retained")) {
                retained = true;
            } else if (a.startsWith("--")) {
                return usage("unknown option " + a);
            } else if (dumpArg == null) {
                dumpArg = a;
            } else if (outArg == null) {
                outArg = a;
            } else {
                return usage("too many arguments");
            }
        }
        if (dumpArg == null || outArg == null) {
            return usage("DUMP.hprof and OUTDIR are required");
        }
        File dump = new File(dumpArg).getAbsoluteFile();
        if (!dump.isFile()) {
            throw new IOException("no such file: " + dump);
        }
        Path outDir = new File(outArg).getAbsoluteFile().toPath();
        Files.createDirectories(outDir);

        captureLibraryLog();

        // The library keeps a "<name>.hwcache" directory beside the dump it opens.
        // Open the dump through a link in a private temporary directory, so that
        // nothing is written beside the original (which may be read-only) and no
        // stale cache from an earlier run can be picked up.
        Path work = Files.createTempDirectory("vvm-ref-");
        try {
            File opened = linkInto(dump, work);
            return analyse(opened, dump, outDir, retained);
        } finally {
            deleteTree(work);
        }
    }

    private static int usage(String why) {
        System.err.println("VisualVMReference: error: " + why
                + " (usage: VisualVMReference DUMP.hprof OUTDIR [--retained])");
        return 2;
    }

    private static int analyse(File opened, File original, Path outDir, boolean retained)
            throws Exception {
        long t0 = System.nanoTime();
        progress("opening " + original);
        Heap heap = HeapFactory.createHeap(opened);
        List<JavaClass> classes = heap.getAllClasses();
        long tOpen = System.nanoTime();
        progress(String.format("opened: %d classes (%.2fs)", classes.size(), secs(t0, tOpen)));

        // Class ids, to learn whether the all-instances iterator yields class objects.
        Map<Long, JavaClass> classById = new HashMap<>(classes.size() * 2);
        for (JavaClass c : classes) {
            classById.put(c.getJavaClassId(), c);
        }

        // ---- classes.csv
        long classTotalInstances = 0;
        long classTotalBytes = 0;
        try (Writer w = csvWriter(outDir.resolve("classes.csv"))) {
            w.write("class_id,name,instances,shallow_bytes\n");
            for (JavaClass c : classes) {
                int n = c.getInstancesCount();
                long bytes = c.getAllInstancesSize();
                classTotalInstances += n;
                classTotalBytes += bytes;
                w.write(hex(c.getJavaClassId()));
                w.write(',');
                w.write(csv(c.getName()));
                w.write(',');
                w.write(Long.toString(n));
                w.write(',');
                w.write(Long.toString(bytes));
                w.write('\n');
            }
        }
        long tClasses = System.nanoTime();
        progress(String.format("classes.csv written (%.2fs)", secs(tOpen, tClasses)));

        // ---- GC roots (records, by kind)
        Collection<GCRoot> roots = heap.getGCRoots();
        Map<String, Integer> rootKinds = new TreeMap<>();
        java.util.HashSet<Long> rootIds = new java.util.HashSet<>();
        int rootsWithoutInstance = 0;
        for (GCRoot r : roots) {
            rootKinds.merge(r.getKind(), 1, Integer::sum);
            Instance ri = r.getInstance();
            if (ri == null) {
                rootsWithoutInstance++;
            } else {
                rootIds.add(ri.getInstanceId());
            }
        }
        long tRoots = System.nanoTime();
        progress(String.format("%d GC root records, %d distinct objects (%.2fs)",
                roots.size(), rootIds.size(), secs(tClasses, tRoots)));

        if (retained) {
            // The first getRetainedSize() call computes the dominator tree for the whole heap;
            // trigger it here so the time is accounted for separately.
            progress("computing retained sizes (dominator tree)");
            Iterator<Instance> it = heap.getAllInstancesIterator();
            if (it.hasNext()) {
                it.next().getRetainedSize();
            }
        }
        long tRetained = System.nanoTime();
        if (retained) {
            progress(String.format("retained sizes computed (%.2fs)", secs(tRoots, tRetained)));
        }

        // ---- objects.csv
        long objects = 0;
        long shallowSum = 0;
        long iteratorObjects = 0;
        long iteratorShallow = 0;
        long gcRootObjects = 0;
        long classObjectsFromIterator = 0;
        long classObjectsAdded = 0;
        long classObjectsMissing = 0;
        long classObjectsShallow = 0;
        long retainedOfClassObjects = 0;
        java.util.HashSet<Long> classIdsSeen = new java.util.HashSet<>();
        try (Writer w = csvWriter(outDir.resolve("objects.csv"))) {
            w.write("object_id,class,shallow_bytes,retained_bytes,is_gc_root\n");
            Iterator<Instance> it = heap.getAllInstancesIterator();
            while (it.hasNext()) {
                Instance inst = it.next();
                long id = inst.getInstanceId();
                if (classById.containsKey(id)) {
                    classObjectsFromIterator++;
                    classIdsSeen.add(id);
                }
                long size = writeObject(w, heap, inst, retained);
                shallowSum += size;
                if (isRoot(heap, inst)) {
                    gcRootObjects++;
                }
                objects++;
                iteratorObjects++;
                iteratorShallow += size;
                if (objects % PROGRESS_EVERY == 0) {
                    progress(objects + " objects written");
                }
            }
            // Class objects (CLASS_DUMP records): VisualVM does not yield them from the
            // all-instances iterator, but getInstanceByID(classId) returns an Instance for
            // them (sized as an instance of java.lang.Class). Add those not yet written.
            for (JavaClass c : classes) {
                long id = c.getJavaClassId();
                if (classIdsSeen.contains(id)) {
                    continue;
                }
                Instance inst = heap.getInstanceByID(id);
                if (inst == null || inst.getInstanceId() != id) {
                    classObjectsMissing++;
                    continue;
                }
                long size = writeObject(w, heap, inst, retained);
                shallowSum += size;
                classObjectsShallow += size;
                if (retained) {
                    retainedOfClassObjects += inst.getRetainedSize();
                }
                if (isRoot(heap, inst)) {
                    gcRootObjects++;
                }
                objects++;
                classObjectsAdded++;
            }
        }
        long tObjects = System.nanoTime();
        progress(String.format("objects.csv written: %d rows (%.2fs)", objects, secs(tRetained, tObjects)));

        // ---- summary.json
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("dump", original.getPath());
        s.put("dump_bytes", original.length());
        s.put("tool", "VisualVM heap library (org.graalvm.visualvm.lib.jfluid.heap)");
        s.put("library_jar", jarOf(Heap.class));
        s.put("library_version", libraryVersion());
        s.put("java_version", System.getProperty("java.version"));
        s.putAll(sizeModel(heap));
        s.put("total_classes", classes.size());
        // Instances as VisualVM counts them (instance and array dumps, no class objects).
        s.put("total_instances", iteratorObjects);
        s.put("total_shallow_bytes", iteratorShallow);
        // objects.csv rows: the instances above plus the class objects.
        s.put("objects_csv_rows", objects);
        s.put("objects_csv_shallow_bytes", shallowSum);
        s.put("class_objects_from_iterator", classObjectsFromIterator);
        s.put("class_objects_added_via_getInstanceByID", classObjectsAdded);
        s.put("class_objects_without_instance", classObjectsMissing);
        s.put("class_objects_shallow_bytes", classObjectsShallow);
        s.put("classes_csv_instances_sum", classTotalInstances);
        s.put("classes_csv_shallow_bytes_sum", classTotalBytes);
        s.put("total_gc_roots", roots.size());
        s.put("gc_root_objects", rootIds.size());
        s.put("gc_root_objects_in_objects_csv", gcRootObjects);
        s.put("gc_roots_without_instance", rootsWithoutInstance);
        s.put("gc_roots_by_kind", rootKinds);
        HeapSummary hs = heap.getSummary();
        if (hs != null) {
            Map<String, Object> hsm = new LinkedHashMap<>();
            hsm.put("time", hs.getTime());
            hsm.put("total_live_instances", hs.getTotalLiveInstances());
            hsm.put("total_live_bytes", hs.getTotalLiveBytes());
            hsm.put("total_allocated_instances", hs.getTotalAllocatedInstances());
            hsm.put("total_allocated_bytes", hs.getTotalAllocatedBytes());
            s.put("heap_summary", hsm);
        }
        s.put("retained_computed", retained);
        if (retained) {
            s.put("retained_bytes_of_class_objects", retainedOfClassObjects);
        }
        Map<String, Object> timing = new LinkedHashMap<>();
        timing.put("open_s", round3(secs(t0, tOpen)));
        timing.put("classes_s", round3(secs(tOpen, tClasses)));
        timing.put("gc_roots_s", round3(secs(tClasses, tRoots)));
        timing.put("retained_s", round3(secs(tRoots, tRetained)));
        timing.put("objects_s", round3(secs(tRetained, tObjects)));
        s.put("timing", timing);
        s.put("library_log", new ArrayList<>(libraryLog));
        long tEnd = System.nanoTime();
        s.put("wall_time_s", round3(secs(t0, tEnd)));
        try (Writer w = Files.newBufferedWriter(outDir.resolve("summary.json"), StandardCharsets.UTF_8)) {
            w.write(toJson(s, 0));
            w.write('\n');
        }
        progress(String.format("done in %.2fs -> %s", secs(t0, tEnd), outDir));
        return 0;
    }

    private static long writeObject(Writer w, Heap heap, Instance inst, boolean retained)
            throws IOException {
        long size = inst.getSize();
        JavaClass jc = inst.getJavaClass();
        w.write(hex(inst.getInstanceId()));
        w.write(',');
        w.write(csv(jc == null ? "" : jc.getName()));
        w.write(',');
        w.write(Long.toString(size));
        w.write(',');
        w.write(Long.toString(retained ? inst.getRetainedSize() : -1L));
        w.write(',');
        w.write(isRoot(heap, inst) ? '1' : '0');
        w.write('\n');
        return size;
    }

    private static boolean isRoot(Heap heap, Instance inst) {
        Collection<GCRoot> r = heap.getGCRoots(inst);
        return r != null && !r.isEmpty();
    }

    // ------------------------------------------------------------------ size model

    /** The size-model parameters VisualVM chose, read by reflection (best effort). */
    private static Map<String, Object> sizeModel(Heap heap) {
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            Object buffer = field(heap, "dumpBuffer");
            m.put("id_size", call(buffer, "getIDSize"));
            Object version = field(buffer, "version");
            m.put("hprof_format_version", version);
        } catch (ReflectiveOperationException | RuntimeException e) {
            m.put("id_size", null);
            m.put("id_size_error", e.toString());
        }
        try {
            Object segment = call(heap, "getClassDumpSegment");
            Object settings = field(segment, "sizeSettings");
            m.put("new_size", field(segment, "newSize"));
            m.put("oop_size", call(settings, "getOopSize"));
            m.put("minimum_instance_size", call(settings, "getMinimumInstanceSize"));
            m.put("object_alignment", staticField(settings.getClass(), "OBJECT_ALIGNMENT"));
            m.put("array_overhead", staticField(settings.getClass(), "ARRAY_OVERHEAD"));
            JavaClass object = heap.getJavaClassByName("java.lang.Object");
            if (object != null) {
                m.put("java_lang_Object_raw_instance_size", call(object, "getRawInstanceSize"));
            }
            JavaClass klass = heap.getJavaClassByName("java.lang.Class");
            if (klass != null) {
                m.put("java_lang_Class_instance_size", klass.getInstanceSize());
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            m.put("size_model_error", e.toString());
        }
        return m;
    }

    private static Object field(Object target, String name) throws ReflectiveOperationException {
        for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(target);
            } catch (NoSuchFieldException e) {
                // try the superclass
            }
        }
        throw new NoSuchFieldException(name);
    }

    private static Object staticField(Class<?> c, String name) throws ReflectiveOperationException {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(null);
    }

    private static Object call(Object target, String name) throws ReflectiveOperationException {
        for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Method m = c.getDeclaredMethod(name);
                m.setAccessible(true);
                return m.invoke(target);
            } catch (NoSuchMethodException e) {
                // try the superclass
            }
        }
        throw new NoSuchMethodException(name);
    }

    private static void captureLibraryLog() {
        libraryLogger = Logger.getLogger(LIB_PACKAGE);
        libraryLogger.setLevel(Level.CONFIG);
        libraryLogger.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() < Level.CONFIG.intValue()) {
                    return;
                }
                String text = r.getMessage();
                Object[] params = r.getParameters();
                if (text != null && params != null) {
                    for (int i = 0; i < params.length; i++) {
                        text = text.replace("{" + i + "}", String.valueOf(params[i]));
                    }
                }
                synchronized (libraryLog) {
                    libraryLog.add(text);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
        // Keep the library's own messages off the console; they go to summary.json.
        libraryLogger.setUseParentHandlers(false);
    }

    private static String jarOf(Class<?> c) {
        try {
            return new File(c.getProtectionDomain().getCodeSource().getLocation().toURI()).getPath();
        } catch (Exception e) {
            return null;
        }
    }

    private static String libraryVersion() {
        String path = jarOf(Heap.class);
        if (path == null) {
            return null;
        }
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(path)) {
            java.util.jar.Attributes a = jar.getManifest().getMainAttributes();
            String spec = a.getValue("OpenIDE-Module-Specification-Version");
            String impl = a.getValue("OpenIDE-Module-Implementation-Version");
            return "spec " + spec + ", impl " + impl;
        } catch (Exception e) {
            return null;
        }
    }

    // ------------------------------------------------------------------ files

    private static File linkInto(File dump, Path dir) throws IOException {
        Path link = dir.resolve(dump.getName());
        try {
            Files.createSymbolicLink(link, dump.toPath());
        } catch (IOException | UnsupportedOperationException e) {
            progress("cannot symlink (" + e + "), copying the dump instead");
            Files.copy(dump.toPath(), link, StandardCopyOption.REPLACE_EXISTING);
        }
        return link.toFile();
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }

    private static Writer csvWriter(Path p) throws IOException {
        return new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(p), StandardCharsets.UTF_8),
                1 << 16);
    }

    // ------------------------------------------------------------------ formatting

    private static String hex(long id) {
        return "0x" + Long.toHexString(id);
    }

    /** CSV field quoting: quote if the value holds a comma, quote, CR or LF; double inner quotes. */
    static String csv(String v) {
        if (v == null) {
            return "";
        }
        boolean quote = false;
        for (int i = 0; i < v.length(); i++) {
            char ch = v.charAt(i);
            if (ch == ',' || ch == '"' || ch == '\n' || ch == '\r') {
                quote = true;
                break;
            }
        }
        if (!quote) {
            return v;
        }
        return "\"" + v.replace("\"", "\"\"") + "\"";
    }

    private static double secs(long from, long to) {
        return (to - from) / 1e9;
    }

    private static double round3(double v) {
        return Math.round(v * 1000.0) / 1000.0;
    }

    private static void progress(String msg) {
        System.err.println("[vvm-ref] " + msg);
    }

    private static String toJson(Object v, int indent) {
        StringBuilder sb = new StringBuilder();
        appendJson(sb, v, indent);
        return sb.toString();
    }

    private static void appendJson(StringBuilder sb, Object v, int indent) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String) {
            appendJsonString(sb, (String) v);
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long
                || v instanceof Short || v instanceof Byte) {
            sb.append(v);
        } else if (v instanceof Number) {
            double d = ((Number) v).doubleValue();
            sb.append(Double.isFinite(d) ? Double.toString(d) : "null");
        } else if (v instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) v;
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append("{\n");
            int i = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                pad(sb, indent + 2);
                appendJsonString(sb, String.valueOf(e.getKey()));
                sb.append(": ");
                appendJson(sb, e.getValue(), indent + 2);
                sb.append(++i < m.size() ? ",\n" : "\n");
            }
            pad(sb, indent);
            sb.append('}');
        } else if (v instanceof Collection) {
            Collection<?> c = (Collection<?>) v;
            if (c.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append("[\n");
            int i = 0;
            for (Object o : c) {
                pad(sb, indent + 2);
                appendJson(sb, o, indent + 2);
                sb.append(++i < c.size() ? ",\n" : "\n");
            }
            pad(sb, indent);
            sb.append(']');
        } else {
            appendJsonString(sb, String.valueOf(v));
        }
    }

    private static void pad(StringBuilder sb, int n) {
        for (int i = 0; i < n; i++) {
            sb.append(' ');
        }
    }

    private static void appendJsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
            }
        }
        sb.append('"');
    }
}
