package org.labhal.webtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web dashboard of a real {@code labhal.jar}, started as a child process in a fresh folder with its
 * Gogo shell on a pipe, seen through a real headless Chromium: the instruments, a lock taken and released
 * in the shell showing up on the page without a reload, a confirmed query from the page and its answer,
 * and that query in the traffic view. The runtime serves no simulator ports (they could clash with other
 * tests running at the same time) and its HTTP server takes any free port, which {@code instr:web} tells.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebDashboardBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    /** A bound for things that happen in well under a second; generous for a loaded 2-core machine. */
    private static final Duration LIVE = Duration.ofSeconds(5);
    private static final Duration STARTUP = Duration.ofSeconds(60);
    private static final Pattern URL = Pattern.compile("web dashboard: (http://\\S+/labhal/)");

    private Process runtime;
    private Writer shell;
    private final List<String> output = new ArrayList<>();
    private Path folder;
    private WebDriver browser;
    private String url;

    @BeforeAll
    void start() throws Exception {
        // CI installs both (./lab test); a machine without them must not pass silently
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            fail("the browser test needs Debian's chromium and chromium-driver (" + CHROMIUM + ", " + CHROMEDRIVER
                    + "): apt-get install -y chromium chromium-driver, or run ./lab test, which installs them");
        }
        Path jar = Path.of(System.getProperty("labhal.jar", "../runtime/target/labhal.jar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), "no " + jar + ": build the runtime module first");
        folder = Files.createTempDirectory("labhal-webtest");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dorg.osgi.service.http.port=0", "-Dlabhal.simulators.hislip=", "-Dlabhal.simulators.vxi11=",
                "-Dlabhal.simulators.socket=", "-Dlabhal.simulators.gpib=", "-Dlabhal.simulators.usb=",
                "-Dlabhal.simulators.advertise=", "-jar", jar.toString());
        runtime = new ProcessBuilder(command).directory(folder.toFile())
                .redirectError(folder.resolve("stderr.txt").toFile()).start();
        shell = new OutputStreamWriter(runtime.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(this::readOutput, "labhal-webtest-stdout");
        reader.setDaemon(true);
        reader.start();

        url = awaitUrl();
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1080");
        browser = new ChromeDriver(service, options);
        browser.get(url);
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (browser != null) {
                browser.quit();
            }
        } finally {
            if (runtime != null) {
                try {
                    shell.close(); // end of input stops the shell and the framework
                } catch (IOException e) {
                    // gone already
                }
                if (!runtime.waitFor(15, TimeUnit.SECONDS)) {
                    runtime.destroy(); // SIGTERM to its PID: the framework stops cleanly
                    if (!runtime.waitFor(10, TimeUnit.SECONDS)) {
                        runtime.destroyForcibly();
                    }
                }
            }
        }
    }

    @Test
    @Order(1)
    void pageShowsBothSimulatedInstruments() {
        waitFor(LIVE).until(ExpectedConditions.textToBe(By.id("live"), "live"));
        // the rows are redrawn by the live updates: read them through the waits, never keep an element
        waitFor(LIVE).until(ExpectedConditions.textMatches(By.cssSelector("#instruments tr[data-instrument='sim-smw']"),
                Pattern.compile("sim-smw ONLINE .*INDEPENDENT_SESSIONS .*SIM::SMW200A::1::INSTR")));
        waitFor(LIVE).until(ExpectedConditions.textMatches(
                By.cssSelector("#instruments tr[data-instrument='sim-shared']"),
                Pattern.compile("sim-shared ONLINE .*SHARED_BUFFER .*SIM::SHARED::1::INSTR")));
    }

    @Test
    @Order(2)
    void lockTakenInTheShellShowsUpLiveAndGoesOnUnlock() throws Exception {
        waitFor(LIVE).until(ExpectedConditions.textToBe(By.id("live"), "live"));
        // a mark in the page's window: a reload would lose it
        ((JavascriptExecutor) browser).executeScript("window.labhalMark = 'same page';");
        By holder = By.cssSelector("#locks tr[data-instruments~='sim-smw'] td.holder");
        assertEquals("", browser.findElement(holder).getText(), "sim-smw's lock is free before the test");

        run("instr:lock sim-smw", "held by thread");
        waitFor(LIVE).until(ExpectedConditions.textMatches(holder, Pattern.compile("instr:lock sim-smw")));

        run("instr:unlock sim-smw", "lock released after");
        waitFor(LIVE).until(ExpectedConditions.textToBe(holder, ""));
        assertEquals("same page", ((JavascriptExecutor) browser).executeScript("return window.labhalMark;"),
                "the page was reloaded: the lock must show through the live updates");
    }

    @Test
    @Order(3)
    void queryFromThePageShowsItsAnswerAndItsTraffic() throws Exception {
        new Select(browser.findElement(By.id("action-instrument"))).selectByValue("sim-smw");
        browser.findElement(By.id("do-trace-on")).click();
        waitFor(LIVE).until(ExpectedConditions.alertIsPresent()).accept();
        waitFor(LIVE).until(ExpectedConditions.textToBePresentInElementLocated(By.id("result"), "trace on"));

        WebElement command = browser.findElement(By.id("action-command"));
        command.clear();
        command.sendKeys("*IDN?");
        // a refused confirmation sends nothing
        browser.findElement(By.id("do-query")).click();
        waitFor(LIVE).until(ExpectedConditions.alertIsPresent()).dismiss();
        waitFor(LIVE).until(ExpectedConditions.textToBePresentInElementLocated(By.id("result"), "cancelled"));

        browser.findElement(By.id("do-query")).click();
        waitFor(LIVE).until(ExpectedConditions.alertIsPresent()).accept();
        waitFor(Duration.ofSeconds(20)).until(ExpectedConditions.textToBePresentInElementLocated(By.id("result"),
                "LabHAL,SMW200A-SIM"));

        By traced = By.xpath("//table[@id='traffic']/tbody/tr[@data-instrument='sim-smw'][td[text()='*IDN?']]");
        waitFor(LIVE).until(ExpectedConditions.textMatches(traced,
                Pattern.compile("sim-smw .*QUERY \\*IDN\\? LabHAL,SMW200A-SIM,.* ok")));

        String screenshot = System.getProperty("labhal.screenshot", "");
        if (!screenshot.isBlank()) {
            waitFor(LIVE).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#charts svg")));
            // a held lock, for the picture
            run("instr:lock sim-shared 5s 30s", "held by thread");
            waitFor(LIVE).until(ExpectedConditions.textMatches(
                    By.cssSelector("#locks tr[data-instruments~='sim-shared'] td.holder"), Pattern.compile("instr:lock")));
            byte[] png = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
            Path target = Path.of(screenshot).isAbsolute() ? Path.of(screenshot)
                    : Path.of(System.getProperty("user.dir")).getParent().resolve(screenshot);
            Files.createDirectories(target.getParent());
            Files.write(target, png);
            run("instr:unlock sim-shared", "lock released after");
        }
    }

    // ---- the child process's shell -------------------------------------------------------------------

    private void readOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(runtime.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                synchronized (output) {
                    output.add(line);
                    output.notifyAll();
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    /** Sends a command line to the runtime's shell and waits for a line of its answer. */
    private String run(String command, String expected) throws Exception {
        int from;
        synchronized (output) {
            from = output.size();
        }
        shell.write(command + "\n");
        shell.flush();
        return awaitLine(from, expected, STARTUP).orElseThrow(() -> new AssertionError("'" + command
                + "' did not answer '" + expected + "' in time; the shell said: " + said() + "; stderr: "
                + stderr()));
    }

    private Optional<String> awaitLine(int from, String contains, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (output) {
            while (true) {
                for (int i = from; i < output.size(); i++) {
                    if (output.get(i).contains(contains)) {
                        return Optional.of(output.get(i));
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || !runtime.isAlive()) {
                    return Optional.empty();
                }
                TimeUnit.NANOSECONDS.timedWait(output, Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
            }
        }
    }

    /** The HTTP server starts with the shell; instr:web tells its URL once it listens. */
    private String awaitUrl() throws Exception {
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (System.nanoTime() < deadline) {
            String line = run("instr:web", "web dashboard:");
            Matcher m = URL.matcher(line);
            if (m.find()) {
                return m.group(1);
            }
            Thread.onSpinWait();
            synchronized (output) {
                output.wait(250); // bounded pause before asking again, not a wait for the condition itself
            }
        }
        throw new AssertionError("the runtime did not serve its dashboard within " + STARTUP.toSeconds()
                + " s; the shell said: " + said() + "; stderr: " + stderr());
    }

    private String said() {
        synchronized (output) {
            return String.join("\n", output);
        }
    }

    private String stderr() {
        try {
            return Files.readString(folder.resolve("stderr.txt"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private WebDriverWait waitFor(Duration timeout) {
        return new WebDriverWait(browser, timeout, Duration.ofMillis(50));
    }
}
