//! The architecture's invariants (docs/architecture.md), checked on the
//! source itself so they cannot quietly erode.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Domains never print: only `output/` writes for people, and `main.rs`
/// says the final error. Anything else that wants a person to see text
/// goes through `output` (which escapes what came from outside).
#[test]
fn only_output_and_main_print() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "found {} files", files.len());
    let mut found = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("output/") || rel == "main.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for mac in ["print!(", "println!(", "eprint!(", "eprintln!("] {
                let hit = code.match_indices(mac).any(|(at, _)| {
                    // `eprint!(` inside `eprintln!(` and the like are one hit
                    at == 0 || !code.as_bytes()[at - 1].is_ascii_alphanumeric()
                });
                if hit {
                    found.push(format!("src/{rel}:{}: {}", i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "printing outside output/ and main.rs:\n{}",
        found.join("\n")
    );
}
