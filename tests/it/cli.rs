//! The CLI shell: help, version, completions, man page, colour.

use predicates::prelude::*;

use crate::util::{netray, run};

#[test]
fn help_lists_commands_and_exit_codes() {
    netray()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("subnet"))
        .stdout(predicate::str::contains("completions"))
        .stdout(predicate::str::contains("--json"))
        .stdout(predicate::str::contains("Exit status"));
    for cmd in [
        "calc",
        "same",
        "split",
        "summarize",
        "exclude",
        "contains",
        "range",
        "filter",
    ] {
        netray()
            .args(["subnet", cmd, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: netray subnet"));
    }
}

#[test]
fn version() {
    netray()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(concat!(
            "netray ",
            env!("CARGO_PKG_VERSION")
        )));
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run(&["subnet", "frobnicate"], "");
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
    let (code, _, _) = run(&["no-such-command"], "");
    assert_eq!(code, 2);
    let (code, _, _) = run(&["subnet", "split", "192.0.2.0/24"], "");
    assert_eq!(code, 2, "split needs --prefix or --count");
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef netray"),
        ("fish", "complete -c netray"),
        ("elvish", "netray"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        netray()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker));
    }
    // the subcommands are completed too
    netray()
        .args(["completions", "bash"])
        .assert()
        .stdout(predicate::str::contains("summarize"));
}

#[test]
fn manpage_is_roff() {
    netray()
        .arg("manpage")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(".ie"))
        .stdout(predicate::str::contains(".TH netray"))
        .stdout(predicate::str::contains("subnet"));
}

#[test]
fn colour_follows_flag_and_no_color() {
    let args = ["subnet", "contains", "192.0.2.0/24", "192.0.2.1"];
    // not a terminal: no colour by default
    let (_, out, _) = run(&args, "");
    assert!(!out.contains('\x1b'), "{out:?}");
    // forced on
    let (_, out, _) = run(&[&["--color", "always"], &args[..]].concat(), "");
    assert!(out.contains("\x1b[32minside\x1b[0m"), "{out:?}");
    // forced off
    let (_, out, _) = run(&[&["--color", "never"], &args[..]].concat(), "");
    assert!(!out.contains('\x1b'));
    // NO_COLOR does not override an explicit --color always, and JSON never has colour
    let out = netray()
        .env("NO_COLOR", "1")
        .args(["--color", "always", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
}

#[test]
fn closed_pipe_is_not_an_error() {
    // a reader that goes away early (`| head`) must not turn into exit 4
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("netray"))
        .args(["subnet", "split", "10.0.0.0/8", "-p", "24", "-q"])
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}
