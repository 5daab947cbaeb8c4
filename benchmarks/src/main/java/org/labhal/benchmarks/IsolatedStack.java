package org.labhal.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.labhal.benchmarks.isolated.SocketSessionStack;

/**
 * Loads {@link SocketSessionStack} against the {@code org.labhal} jars of another build (say, main
 * before a change), so that both builds' socket sessions run in one JVM and interleave in one run.
 * Classes of {@code org.labhal.benchmarks.isolated} are defined again from this jar's bytes; every
 * other {@code org.labhal} class comes from the given jars only; the rest from the JDK (and OSGi
 * annotation types from this jar, which the old classes may name).
 */
final class IsolatedStack extends URLClassLoader {
    private static final String OWN = SocketSessionStack.class.getPackageName() + ".";

    static {
        registerAsParallelCapable();
    }

    private IsolatedStack(URL[] jars) {
        super("labhal-before", jars, ClassLoader.getPlatformClassLoader());
    }

    /**
     * @param jars a folder with the API and socket transport jars of the other build
     * @return a session opened to {@code resource} by that build's code
     */
    static UnaryOperator<String> open(Path jars, String resource) throws Exception {
        return open(jars, SocketSessionStack.class, resource);
    }

    /**
     * @param jars a folder with the API and transport jars of the other build
     * @param stackClass a class of {@code org.labhal.benchmarks.isolated}: a {@link UnaryOperator} and
     *        {@link AutoCloseable} with a constructor taking the resource string
     * @return a session opened to {@code resource} by that build's code
     */
    @SuppressWarnings("unchecked")
    static UnaryOperator<String> open(Path jars, Class<?> stackClass, String resource) throws Exception {
        if (!stackClass.getName().startsWith(OWN)) {
            throw new IllegalArgumentException(stackClass + " is not in " + OWN);
        }
        List<URL> urls = new ArrayList<>();
        try (Stream<Path> files = Files.list(jars)) {
            for (Path jar : files.filter(f -> f.toString().endsWith(".jar")).sorted().toList()) {
                urls.add(jar.toUri().toURL());
            }
        }
        if (urls.isEmpty()) {
            throw new IllegalArgumentException("no jars in " + jars);
        }
        IsolatedStack loader = new IsolatedStack(urls.toArray(URL[]::new));
        Class<?> stack = loader.loadClass(stackClass.getName());
        if (stack.getClassLoader() != loader) {
            throw new IllegalStateException("the isolated session was not loaded in isolation");
        }
        return (UnaryOperator<String>) stack.getConstructor(String.class).newInstance(resource);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        synchronized (getClassLoadingLock(name)) {
            Class<?> loaded = findLoadedClass(name);
            if (loaded == null) {
                if (name.startsWith(OWN)) {
                    loaded = defineOwn(name);
                } else if (name.startsWith("org.labhal.")) {
                    loaded = findClass(name); // never the current build's class
                } else if (name.startsWith("org.osgi.")) {
                    loaded = IsolatedStack.class.getClassLoader().loadClass(name);
                } else {
                    loaded = super.loadClass(name, false);
                }
            }
            if (resolve) {
                resolveClass(loaded);
            }
            return loaded;
        }
    }

    private Class<?> defineOwn(String name) throws ClassNotFoundException {
        String file = name.replace('.', '/') + ".class";
        try (InputStream in = IsolatedStack.class.getClassLoader().getResourceAsStream(file)) {
            if (in == null) {
                throw new ClassNotFoundException(name);
            }
            byte[] bytes = in.readAllBytes();
            return defineClass(name, bytes, 0, bytes.length);
        } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
        }
    }
}
