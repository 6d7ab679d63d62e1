//! Any bytes as a file name in a `put` or `get`, against a real root on
//! disk: the name check never panics and refuses what is too deep or too
//! long before any file-system call; an accepted name is walked without a
//! panic, nothing appears outside the root, and an upload that is dropped
//! (not committed) leaves the root as it was.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use netray::probe::files::{components, Root, MAX_COMPONENT, MAX_DEPTH, MAX_NAME};

struct Place {
    _outer: tempfile::TempDir,
    outside: std::path::PathBuf,
    root: Arc<Root>,
    root_dir: std::path::PathBuf,
}

fn place() -> &'static Place {
    static P: OnceLock<Place> = OnceLock::new();
    P.get_or_init(|| {
        let outer = tempfile::tempdir().unwrap();
        let root_dir = outer.path().join("root");
        let outside = outer.path().join("outside");
        std::fs::create_dir(&root_dir).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(root_dir.join("file"), b"f").unwrap();
        std::fs::create_dir(root_dir.join("dir")).unwrap();
        std::os::unix::fs::symlink(&outside, root_dir.join("out")).unwrap();
        std::os::unix::fs::symlink("file", root_dir.join("alias")).unwrap();
        let root = Arc::new(Root::new(&root_dir).unwrap());
        Place { _outer: outer, outside, root, root_dir }
    })
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    match components(name) {
        Ok(parts) => {
            assert!(name.len() <= MAX_NAME && parts.len() <= MAX_DEPTH);
            assert!(parts.iter().all(|p| !p.is_empty() && p.len() <= MAX_COMPONENT));
            assert!(parts.iter().all(|p| *p != "." && *p != ".." && !p.starts_with(".netray-")));
        }
        Err(_) => return,
    }
    let p = place();
    let before = count(&p.root_dir);
    let _ = p.root.open_for_get(name);
    if let Ok(part) = p.root.begin_put(name, true, false) {
        drop(part);
    }
    assert_eq!(count(&p.outside), 0, "something was made outside the root");
    assert_eq!(count(&p.root_dir), before, "a dropped upload left something in the root");
});
