//! Running the real binary.

use std::process::Command as StdCommand;

use assert_cmd::Command;

/// The netray binary with a clean environment for stable output: no
/// backtraces, no NO_COLOR from the caller.
pub fn netray() -> Command {
    let mut c = assert_cmd::cargo::cargo_bin_cmd!("netray");
    c.env("RUST_BACKTRACE", "0").env_remove("NO_COLOR");
    c
}

/// Runs netray with `--json` and parses stdout, asserting the exit status.
pub fn json(args: &[&str], code: i32) -> serde_json::Value {
    let out = netray().arg("--json").args(args).assert().code(code);
    let text = String::from_utf8(out.get_output().stdout.clone()).expect("utf-8");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

/// Runs netray and returns (exit status, stdout, stderr).
pub fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = netray()
        .args(args)
        .write_stdin(stdin)
        .output()
        .expect("run netray");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// True when an external program can be run.
pub fn have(program: &str) -> bool {
    StdCommand::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs an external program and returns its stdout.
pub fn peer(program: &str, args: &[&str]) -> String {
    let out = StdCommand::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Parses NDJSON output, one value per line.
pub fn ndjson(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `setpriv` to nobody without any capability: the start of a command
/// line that runs the rest unprivileged.
pub const UNPRIVILEGED: [&str; 6] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
];

/// What a measured run of a process gave.
#[derive(Debug)]
pub struct Measured {
    /// Exit status (-1: killed by a signal, or by the time limit).
    pub code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
    /// Peak resident memory seen (VmHWM), in KiB.
    pub peak_kib: u64,
    /// Wall time.
    pub elapsed: std::time::Duration,
    /// True when the time limit killed it.
    pub timed_out: bool,
}

/// The peak resident memory (VmHWM, KiB) of a live process.
pub fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs a command to its end or to `limit` (then kills it), reading its
/// peak memory from /proc while it runs (polled every few milliseconds;
/// VmHWM only grows, so the last reading is the peak up to then).
pub fn measured(cmd: StdCommand, limit: std::time::Duration) -> Measured {
    run_measured(cmd, limit, true)
}

/// [`measured`], with the command's stdout thrown away (for outputs too
/// large to hold in the test).
pub fn measured_quiet(cmd: StdCommand, limit: std::time::Duration) -> Measured {
    run_measured(cmd, limit, false)
}

fn run_measured(mut cmd: StdCommand, limit: std::time::Duration, keep: bool) -> Measured {
    use std::io::Read;
    use std::process::Stdio;
    let start = std::time::Instant::now();
    let mut child = cmd
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(if keep { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let mut out: Box<dyn Read + Send> = match child.stdout.take() {
        Some(o) => Box::new(o),
        None => Box::new(std::io::empty()),
    };
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        drop(out.read_to_end(&mut v));
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        drop(err.read_to_end(&mut v));
        String::from_utf8_lossy(&v).into_owned()
    });
    let pid = child.id();
    let mut peak = 0;
    let mut timed_out = false;
    let status = loop {
        if let Some(kib) = vm_hwm(pid) {
            peak = peak.max(kib);
        }
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > limit {
            timed_out = true;
            drop(child.kill());
            break child.wait().expect("wait");
        }
        std::thread::sleep(std::time::Duration::from_millis(3));
    };
    Measured {
        code: status.code().unwrap_or(-1),
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
        peak_kib: peak,
        elapsed: start.elapsed(),
        timed_out,
    }
}

/// The netray binary as a plain command (for [`measured`]).
pub fn netray_cmd() -> StdCommand {
    let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin!("netray"));
    c.env("RUST_BACKTRACE", "0").env_remove("NO_COLOR");
    c
}
