//! The file side of the frame server: names checked against the root
//! (nothing outside it is ever read, written or created, symlinks
//! included), uploads to a temporary file that becomes the final name
//! only after its SHA-256 matched, listings, and a cache of the hashes
//! that `get` announces.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::wire::frame::{ErrorCode, FrameError};

/// Prefix of the temporary files uploads are written to (hidden from `list`).
pub const PART_PREFIX: &str = ".netray-put-";

/// One file in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Entry {
    /// Path relative to the root, `/`-separated.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
}

/// What identifies a file's contents without reading them: device, inode,
/// size, modification time (seconds, nanoseconds).
type FileKey = (u64, u64, u64, i64, i64);

/// The folder a frame server serves files from.
#[derive(Debug)]
pub struct Root {
    dir: PathBuf,
    hashes: Mutex<HashMap<FileKey, String>>,
}

fn forbidden(name: &str, why: &str) -> FrameError {
    FrameError::new(ErrorCode::Forbidden, format!("{name:?}: {why}"))
}

fn internal(what: &str, e: &io::Error) -> FrameError {
    FrameError::new(ErrorCode::Internal, format!("{what}: {e}"))
}

/// The components of a name, when its syntax is acceptable: relative,
/// `/`-separated, no empty, `.` or `..` component, no NUL.
///
/// # Errors
/// `forbidden`, saying which rule the name breaks.
pub fn components(name: &str) -> Result<Vec<&str>, FrameError> {
    if name.is_empty() {
        return Err(forbidden(name, "empty name"));
    }
    if name.starts_with('/') {
        return Err(forbidden(name, "absolute names are not allowed"));
    }
    if name.contains('\0') {
        return Err(forbidden(name, "NUL in name"));
    }
    let parts: Vec<&str> = name.split('/').collect();
    for p in &parts {
        match *p {
            ".." => return Err(forbidden(name, "\"..\" leaves the root")),
            "." | "" => return Err(forbidden(name, "empty or \".\" component")),
            _ => {}
        }
    }
    Ok(parts)
}

impl Root {
    /// Serves `dir` (which must exist and be a folder).
    ///
    /// # Errors
    /// The folder cannot be resolved.
    pub fn new(dir: &Path) -> io::Result<Root> {
        let dir = fs::canonicalize(dir)?;
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a folder", dir.display()),
            ));
        }
        Ok(Root {
            dir,
            hashes: Mutex::new(HashMap::new()),
        })
    }

    /// The canonical folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path inside the root, when it still is once symlinks are resolved.
    fn inside(&self, name: &str, path: &Path) -> Result<PathBuf, FrameError> {
        let real = fs::canonicalize(path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                FrameError::new(ErrorCode::NotFound, format!("{name:?}: no such file"))
            } else {
                internal(name, &e)
            }
        })?;
        if real.starts_with(&self.dir) {
            Ok(real)
        } else {
            Err(forbidden(name, "leaves the root through a symlink"))
        }
    }

    /// Where an upload of `name` goes: its parent folders exist (created one
    /// by one, each checked to be inside the root before anything is made in
    /// it), and the final component is not a folder.
    ///
    /// # Errors
    /// `forbidden` for names outside the root, `internal` when a folder
    /// cannot be made.
    pub fn for_put(&self, name: &str) -> Result<PathBuf, FrameError> {
        let parts = components(name)?;
        let (file, parents) = parts.split_last().ok_or_else(|| forbidden(name, "empty"))?;
        let mut dir = self.dir.clone();
        for p in parents {
            let next = dir.join(p);
            match fs::symlink_metadata(&next) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&next) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(internal("creating a folder", &e)),
                },
                Err(e) => return Err(internal(name, &e)),
            }
            dir = self.inside(name, &next)?;
            if !dir.is_dir() {
                return Err(forbidden(name, "a parent is not a folder"));
            }
        }
        let target = dir.join(file);
        match fs::symlink_metadata(&target) {
            Ok(m) if m.is_dir() => Err(forbidden(name, "is a folder")),
            Ok(m) if m.file_type().is_symlink() => Err(forbidden(name, "is a symlink")),
            _ => Ok(target),
        }
    }

    /// The file a download of `name` reads.
    ///
    /// # Errors
    /// `not_found`, or `forbidden` outside the root or for a non-file.
    pub fn for_get(&self, name: &str) -> Result<PathBuf, FrameError> {
        components(name)?;
        let real = self.inside(name, &self.dir.join(name))?;
        if real.is_file() {
            Ok(real)
        } else {
            Err(forbidden(name, "is not a regular file"))
        }
    }

    /// Every regular file under the root, recursively, sorted by name.
    /// Symlinks are not followed and upload temporaries are left out.
    ///
    /// # Errors
    /// A folder that cannot be read.
    pub fn list(&self) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        let mut todo = vec![(self.dir.clone(), String::new())];
        while let Some((dir, prefix)) = todo.pop() {
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if name.starts_with(PART_PREFIX) {
                    continue;
                }
                let rel = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                let meta = entry.metadata()?;
                if meta.is_dir() {
                    todo.push((entry.path(), rel));
                } else if meta.is_file() {
                    out.push(Entry {
                        name: rel,
                        size: meta.len(),
                        mtime: meta.mtime(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The SHA-256 of a file, from the cache when the file is unchanged
    /// (same device, inode, size and modification time).
    ///
    /// # Errors
    /// Reading the file.
    pub fn sha256(&self, path: &Path) -> io::Result<(u64, String)> {
        let meta = fs::metadata(path)?;
        let key = (
            meta.dev(),
            meta.ino(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
        );
        if let Some(h) = self.hashes.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok((meta.len(), h));
        }
        let hex = hash_file(path)?;
        if let Ok(mut m) = self.hashes.lock() {
            if m.len() >= 4096 {
                m.clear();
            }
            m.insert(key, hex.clone());
        }
        Ok((meta.len(), hex))
    }
}

/// SHA-256 of a whole file, as hex.
///
/// # Errors
/// Reading it.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(super::sha256_hex(h))
}

/// Alignment of direct writes (the largest logical block size in use).
pub const DIRECT_ALIGN: usize = 4096;

/// An upload in progress: a temporary file beside its target, removed
/// unless [`Part::commit`] moved it into place.
///
/// Large uploads are written with O_DIRECT where the filesystem allows:
/// the bytes go from the buffer to the disk without filling the page
/// cache, which on virtual machines that return freed memory to the host
/// costs more than the disk (measured in docs/probe.md). Writes that are
/// not whole aligned blocks (the last one) and filesystems that refuse
/// O_DIRECT (tmpfs) fall back to ordinary writes.
#[derive(Debug)]
pub struct Part {
    path: PathBuf,
    target: PathBuf,
    file: Option<fs::File>,
    direct: bool,
}

impl Part {
    /// Creates the temporary file for `target`; `direct` asks for O_DIRECT.
    ///
    /// # Errors
    /// Creating it.
    pub fn create(target: &Path, direct: bool) -> io::Result<Part> {
        use std::os::unix::fs::OpenOptionsExt;
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = target.parent().unwrap_or(Path::new("."));
        let path = dir.join(format!(
            "{PART_PREFIX}{}-{}.part",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let open = |flags: i32| {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(flags)
                .open(&path)
        };
        let direct_flag = nix::fcntl::OFlag::O_DIRECT.bits();
        let (file, direct) = match direct.then(|| open(direct_flag)) {
            Some(Ok(f)) => (f, true),
            // EINVAL: no O_DIRECT here; the name may exist if it failed late
            Some(Err(_)) => {
                drop(fs::remove_file(&path));
                (open(0)?, false)
            }
            None => (open(0)?, false),
        };
        Ok(Part {
            path,
            target: target.to_owned(),
            file: Some(file),
            direct,
        })
    }

    /// Whether writes still go around the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Turns O_DIRECT off for the rest of the file.
    fn buffered(&mut self) -> io::Result<()> {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        if let (true, Some(f)) = (self.direct, self.file.as_ref()) {
            let flags = fcntl(f, FcntlArg::F_GETFL).map_err(io::Error::from)?;
            let flags = OFlag::from_bits_truncate(flags) - OFlag::O_DIRECT;
            fcntl(f, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        }
        self.direct = false;
        Ok(())
    }

    /// Appends bytes. Direct writes need whole aligned blocks from an
    /// aligned address; anything else is written through the page cache.
    ///
    /// # Errors
    /// Writing.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let aligned = data.len().is_multiple_of(DIRECT_ALIGN)
            && (data.as_ptr() as usize).is_multiple_of(DIRECT_ALIGN);
        if self.direct && !aligned {
            self.buffered()?;
        }
        let Some(f) = self.file.as_mut() else {
            return Err(io::Error::other("the upload is already committed"));
        };
        match f.write_all(data) {
            // a filesystem that accepted the flag but not the write
            Err(e) if self.direct && e.raw_os_error() == Some(nix::libc::EINVAL) => {
                self.buffered()?;
                self.file.as_mut().map_or(Ok(()), |f| f.write_all(data))
            }
            other => other,
        }
    }

    /// The open file to write to.
    pub fn file(&mut self) -> Option<&mut fs::File> {
        self.file.as_mut()
    }

    /// Moves the finished upload to its name: atomically replacing an
    /// existing file with `overwrite`, else only if the name is still free.
    ///
    /// # Errors
    /// `exists`, or `internal` on I/O failure.
    pub fn commit(mut self, overwrite: bool, name: &str) -> Result<(), FrameError> {
        if let Some(f) = self.file.take() {
            f.sync_data().map_err(|e| internal("writing", &e))?;
        }
        if overwrite {
            fs::rename(&self.path, &self.target).map_err(|e| internal("renaming", &e))?;
        } else {
            match fs::hard_link(&self.path, &self.target) {
                Ok(()) => drop(fs::remove_file(&self.path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(FrameError::new(
                        ErrorCode::Exists,
                        format!("{name:?} exists (ask with overwrite)"),
                    ))
                }
                // filesystems without hard links: check, then rename
                Err(_) if !self.target.exists() => {
                    fs::rename(&self.path, &self.target).map_err(|e| internal("renaming", &e))?;
                }
                Err(e) => return Err(internal("linking", &e)),
            }
        }
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            drop(fs::remove_file(&self.path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        assert_eq!(components("a/b.txt").unwrap(), ["a", "b.txt"]);
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/.",
            "a\0b",
        ] {
            let e = components(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::Forbidden, "{bad:?}");
        }
    }

    #[test]
    fn symlinks_cannot_leave_the_root() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        let root = Root::new(dir.path()).unwrap();
        let e = root.for_get("out/secret").unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        let e = root.for_put("out/new/file").unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        // nothing was created outside
        assert!(!outside.path().join("new").exists());
        assert_eq!(root.for_get("nope").unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn put_creates_parents_and_commit_respects_existing() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path()).unwrap();
        let target = root.for_put("x/y/z.bin").unwrap();
        assert!(dir.path().join("x/y").is_dir());
        let mut p = Part::create(&target, false).unwrap();
        std::io::Write::write_all(p.file().unwrap(), b"one").unwrap();
        p.commit(false, "x/y/z.bin").unwrap();
        let mut p = Part::create(&target, false).unwrap();
        std::io::Write::write_all(p.file().unwrap(), b"two").unwrap();
        assert_eq!(
            p.commit(false, "x/y/z.bin").unwrap_err().code,
            ErrorCode::Exists
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"one");
        let mut p = Part::create(&target, false).unwrap();
        std::io::Write::write_all(p.file().unwrap(), b"two").unwrap();
        p.commit(true, "x/y/z.bin").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        // no temporaries left, and the listing shows the one file
        let l = root.list().unwrap();
        assert_eq!(l.len(), 1, "{l:?}");
        assert_eq!((l[0].name.as_str(), l[0].size), ("x/y/z.bin", 3));
    }

    #[test]
    fn direct_writes_fall_back_for_tails_and_keep_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("d");
        let mut p = Part::create(&target, true).unwrap();
        // an aligned window of a larger buffer, then an unaligned tail
        let mut buf = vec![0u8; 3 * DIRECT_ALIGN];
        let off = buf.as_ptr().align_offset(DIRECT_ALIGN);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        let block = buf[off..off + DIRECT_ALIGN].to_vec();
        p.write(&buf[off..off + DIRECT_ALIGN]).unwrap();
        p.write(b"tail").unwrap();
        assert!(!p.is_direct(), "the tail turns O_DIRECT off");
        p.commit(false, "d").unwrap();
        let got = std::fs::read(&target).unwrap();
        assert_eq!(got.len(), DIRECT_ALIGN + 4);
        assert_eq!(&got[..DIRECT_ALIGN], &block[..]);
        assert_eq!(&got[DIRECT_ALIGN..], b"tail");
    }

    #[test]
    fn an_abandoned_part_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let p = Part::create(&target, false).unwrap();
        drop(p);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
