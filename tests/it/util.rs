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
