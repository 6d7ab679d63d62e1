//! The file side of the frame server.
//!
//! Every name is checked for syntax and size before any file-system call
//! ([`components`]), then walked one component at a time from a handle on
//! the root folder (`openat` with `O_NOFOLLOW`), so the work is linear in
//! the name's depth and no symlink is ever followed: nothing outside the
//! root is read, written or created.
//!
//! Uploads are written to a file that has no name (`O_TMPFILE`) in the
//! target's folder, hashed as they are written, and linked to their name
//! only when the SHA-256 matched; where the file system has no
//! `O_TMPFILE`, to a random name under the reserved prefix
//! [`RESERVED_PREFIX`], which no protocol name may use. Folders a failed
//! upload created are removed again.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{linkat, unlinkat, UnlinkatFlags};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::wire::frame::{ErrorCode, FrameError};

/// Names (components) starting with this are the server's own: refused in
/// every request, hidden from `list`.
pub const RESERVED_PREFIX: &str = ".netray-";
/// Longest name accepted, in bytes (the kernel's PATH_MAX less its NUL).
pub const MAX_NAME: usize = 4095;
/// Longest component accepted, in bytes (NAME_MAX of Linux file systems).
pub const MAX_COMPONENT: usize = 255;
/// Most components a name may have.
pub const MAX_DEPTH: usize = 64;

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

/// A folder's identity: device and inode.
type DirKey = (u64, u64);

/// The folder a frame server serves files from.
#[derive(Debug)]
pub struct Root {
    dir: PathBuf,
    fd: OwnedFd,
    hashes: Mutex<HashMap<FileKey, String>>,
    /// Folders that uploads in progress are writing into, with how many
    /// uploads hold each: a failed upload removes a folder it created only
    /// when no other upload holds it.
    held: Mutex<HashMap<DirKey, usize>>,
}

fn forbidden(name: &str, why: &str) -> FrameError {
    FrameError::new(ErrorCode::Forbidden, format!("{name:?}: {why}"))
}

fn too_large(name: &str, why: String) -> FrameError {
    let shown: String = name.chars().take(64).collect();
    let more = if shown.len() < name.len() { "..." } else { "" };
    FrameError::new(ErrorCode::TooLarge, format!("{shown:?}{more}: {why}"))
}

fn internal(what: &str, e: &io::Error) -> FrameError {
    FrameError::new(ErrorCode::Internal, format!("{what}: {e}"))
}

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// The components of a name, when its syntax and size are acceptable:
/// relative, `/`-separated, no empty, `.` or `..` component, no NUL, no
/// component under the reserved prefix, at most [`MAX_NAME`] bytes,
/// [`MAX_COMPONENT`] bytes a component and [`MAX_DEPTH`] components.
/// Checked before any file-system call, in time linear in the name.
///
/// # Errors
/// `forbidden` or `too_large`, saying which rule the name breaks.
pub fn components(name: &str) -> Result<Vec<&str>, FrameError> {
    if name.is_empty() {
        return Err(forbidden(name, "empty name"));
    }
    if name.len() > MAX_NAME {
        return Err(too_large(
            name,
            format!(
                "name of {} bytes is over the limit of {MAX_NAME}",
                name.len()
            ),
        ));
    }
    if name.starts_with('/') {
        return Err(forbidden(name, "absolute names are not allowed"));
    }
    if name.contains('\0') {
        return Err(forbidden(name, "NUL in name"));
    }
    let depth = name.bytes().filter(|&b| b == b'/').count() + 1;
    if depth > MAX_DEPTH {
        return Err(too_large(
            name,
            format!("{depth} components is over the limit of {MAX_DEPTH}"),
        ));
    }
    let parts: Vec<&str> = name.split('/').collect();
    for p in &parts {
        match *p {
            ".." => return Err(forbidden(name, "\"..\" leaves the root")),
            "." | "" => return Err(forbidden(name, "empty or \".\" component")),
            p if p.len() > MAX_COMPONENT => {
                return Err(too_large(
                    name,
                    format!(
                        "a component of {} bytes is over the limit of {MAX_COMPONENT}",
                        p.len()
                    ),
                ))
            }
            p if p.starts_with(RESERVED_PREFIX) => {
                return Err(forbidden(
                    name,
                    "names starting with \".netray-\" are reserved for the server",
                ))
            }
            _ => {}
        }
    }
    Ok(parts)
}

/// Opens a folder below `parent` without following a symlink.
fn open_dir(parent: impl AsFd, name: &str) -> nix::Result<OwnedFd> {
    openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Why `name`'s component `part` could not be opened as a folder.
fn walk_error(name: &str, parent: impl AsFd, part: &str, e: Errno) -> FrameError {
    match e {
        Errno::ENOENT => FrameError::new(ErrorCode::NotFound, format!("{name:?}: no such file")),
        Errno::ELOOP | Errno::ENOTDIR => {
            match fstatat(parent, part, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(st)
                    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK =>
                {
                    forbidden(name, &format!("{part:?} is a symlink (never followed)"))
                }
                _ => forbidden(name, &format!("{part:?} is not a folder")),
            }
        }
        e => internal(name, &errno_io(e)),
    }
}

fn dir_key(fd: impl AsFd) -> io::Result<DirKey> {
    let st = nix::sys::stat::fstat(fd).map_err(errno_io)?;
    #[allow(clippy::unnecessary_cast)]
    Ok((st.st_dev as u64, st.st_ino as u64))
}

/// 128 unguessable bits as hex: std's hasher keys come from the operating
/// system's random source, fresh for each `RandomState`.
fn random_hex() -> String {
    let mut out = String::with_capacity(32);
    for _ in 0..2 {
        let mut h = RandomState::new().build_hasher();
        static SEQ: AtomicU64 = AtomicU64::new(0);
        h.write_u64(SEQ.fetch_add(1, Ordering::Relaxed));
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

impl Root {
    /// Serves `dir` (which must exist and be a folder).
    ///
    /// # Errors
    /// The folder cannot be resolved or opened.
    pub fn new(dir: &Path) -> io::Result<Root> {
        let dir = fs::canonicalize(dir)?;
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a folder", dir.display()),
            ));
        }
        let fd = openat(
            AT_FDCWD,
            &dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno_io)?;
        Ok(Root {
            dir,
            fd,
            hashes: Mutex::new(HashMap::new()),
            held: Mutex::new(HashMap::new()),
        })
    }

    /// The canonical folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts an upload of `name`: walks (and creates) its parent folders
    /// one by one from the root, refuses a final component that is a
    /// folder, a symlink or (without `overwrite`) an existing file, and
    /// opens the nameless file the body goes to; `direct` asks for
    /// O_DIRECT. Blocking: call it off the async threads.
    ///
    /// # Errors
    /// `forbidden`, `too_large` or `exists` for the name, `internal` when
    /// a folder or the file cannot be made. Folders made before the error
    /// are removed again.
    pub fn begin_put(
        self: &Arc<Self>,
        name: &str,
        overwrite: bool,
        direct: bool,
    ) -> Result<Part, FrameError> {
        let parts = components(name)?;
        let (file, parents) = parts.split_last().ok_or_else(|| forbidden(name, "empty"))?;
        let mut part = Part {
            root: Arc::clone(self),
            dirs: Vec::with_capacity(parents.len() + 1),
            created: Vec::new(),
            file_name: (*file).to_owned(),
            tmp: None,
            file: None,
            direct: false,
            done: false,
        };
        {
            let mut held = self
                .held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let top = self.fd.try_clone().map_err(|e| internal(name, &e))?;
            part.hold(&mut held, top).map_err(|e| internal(name, &e))?;
            for p in parents {
                let cur = &part.dirs[part.dirs.len() - 1].0;
                let next = match open_dir(cur, p) {
                    Ok(fd) => fd,
                    Err(Errno::ENOENT) => {
                        match mkdirat(cur, *p, Mode::from_bits_truncate(0o755)) {
                            Ok(()) => part.created.push(((*p).to_owned(), part.dirs.len() - 1)),
                            Err(Errno::EEXIST) => {}
                            Err(e) => return Err(internal("creating a folder", &errno_io(e))),
                        }
                        open_dir(cur, p).map_err(|e| walk_error(name, cur, p, e))?
                    }
                    Err(e) => return Err(walk_error(name, cur, p, e)),
                };
                part.hold(&mut held, next).map_err(|e| internal(name, &e))?;
            }
        }
        let dir = &part.dirs[part.dirs.len() - 1].0;
        match fstatat(dir, *file, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => {
                let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
                if kind == SFlag::S_IFDIR {
                    return Err(forbidden(name, "is a folder"));
                }
                if kind == SFlag::S_IFLNK {
                    return Err(forbidden(name, "is a symlink"));
                }
                if kind != SFlag::S_IFREG {
                    return Err(forbidden(name, "is not a regular file"));
                }
                if !overwrite {
                    return Err(FrameError::new(
                        ErrorCode::Exists,
                        format!("{name:?} exists (ask with overwrite)"),
                    ));
                }
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(internal(name, &errno_io(e))),
        }
        part.open(direct)
            .map_err(|e| internal("creating the upload", &e))?;
        Ok(part)
    }

    /// Opens the file a download of `name` reads: walked from the root
    /// without following symlinks, and a regular file (a FIFO or device is
    /// refused without blocking on it). Blocking.
    ///
    /// # Errors
    /// `not_found`, or `forbidden` through a symlink or for a non-file.
    pub fn open_for_get(&self, name: &str) -> Result<fs::File, FrameError> {
        let parts = components(name)?;
        let (file, parents) = parts.split_last().ok_or_else(|| forbidden(name, "empty"))?;
        let mut cur = self.fd.try_clone().map_err(|e| internal(name, &e))?;
        for p in parents {
            cur = open_dir(&cur, p).map_err(|e| walk_error(name, &cur, p, e))?;
        }
        let fd = openat(
            &cur,
            *file,
            OFlag::O_RDONLY
                | OFlag::O_NOFOLLOW
                | OFlag::O_CLOEXEC
                | OFlag::O_NONBLOCK
                | OFlag::O_NOCTTY,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::ELOOP => forbidden(name, "is a symlink (never followed)"),
            Errno::ENOENT => {
                FrameError::new(ErrorCode::NotFound, format!("{name:?}: no such file"))
            }
            Errno::ENOTDIR => forbidden(name, "a parent is not a folder"),
            e => internal(name, &errno_io(e)),
        })?;
        let f = fs::File::from(fd);
        let meta = f.metadata().map_err(|e| internal(name, &e))?;
        if !meta.is_file() {
            return Err(forbidden(name, "is not a regular file"));
        }
        Ok(f)
    }

    /// Every regular file under the root, recursively, sorted by name.
    /// Symlinks are not followed and the server's own names are left out.
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
                if name.starts_with(RESERVED_PREFIX) {
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

    /// The size and SHA-256 of an open file, from the cache when the file
    /// is unchanged (same device, inode, size and modification time). The
    /// file is read with positioned reads: its offset stays where it was.
    ///
    /// # Errors
    /// Reading the file.
    pub fn sha256(&self, f: &fs::File) -> io::Result<(u64, String)> {
        let meta = f.metadata()?;
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
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0u64;
        loop {
            match f.read_at(&mut buf, at) {
                Ok(0) => break,
                Ok(n) => {
                    h.update(&buf[..n]);
                    at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let hex = super::sha256_hex(h);
        if let Ok(mut m) = self.hashes.lock() {
            if m.len() >= 4096 {
                m.clear();
            }
            m.insert(key, hex.clone());
        }
        Ok((at, hex))
    }
}

/// Alignment of direct writes (the largest logical block size in use).
pub const DIRECT_ALIGN: usize = 4096;

/// An upload in progress: a file without a name (or, where the file
/// system has no `O_TMPFILE`, under a random reserved name) in its
/// target's folder, the folders walked to reach it (held open, so a rename
/// of a parent cannot redirect the upload), and the folders it created.
/// Dropped without [`Part::commit`], it leaves nothing behind.
///
/// Large uploads are written with O_DIRECT where the filesystem allows:
/// the bytes go from the buffer to the disk without filling the page
/// cache, which on virtual machines that return freed memory to the host
/// costs more than the disk (measured in docs/probe.md). Writes that are
/// not whole aligned blocks (the last one) and filesystems that refuse
/// O_DIRECT (tmpfs) fall back to ordinary writes.
#[derive(Debug)]
pub struct Part {
    root: Arc<Root>,
    /// The root and each folder below it on the way to the target.
    dirs: Vec<(OwnedFd, DirKey)>,
    /// Folders this upload made: name, and the index of its parent in `dirs`.
    created: Vec<(String, usize)>,
    file_name: String,
    /// The random name, when the file has one (no O_TMPFILE).
    tmp: Option<String>,
    file: Option<fs::File>,
    direct: bool,
    done: bool,
}

impl Part {
    fn hold(&mut self, held: &mut HashMap<DirKey, usize>, fd: OwnedFd) -> io::Result<()> {
        let key = dir_key(&fd)?;
        *held.entry(key).or_insert(0) += 1;
        self.dirs.push((fd, key));
        Ok(())
    }

    fn dir(&self) -> &OwnedFd {
        &self.dirs[self.dirs.len() - 1].0
    }

    /// Opens the file: O_TMPFILE first, a random reserved name after.
    fn open(&mut self, direct: bool) -> io::Result<()> {
        let mode = Mode::from_bits_truncate(0o644);
        let base = OFlag::O_WRONLY | OFlag::O_CLOEXEC;
        let try_tmp = |flags: OFlag| openat(self.dir(), ".", flags | OFlag::O_TMPFILE, mode);
        let anon = match direct.then(|| try_tmp(base | OFlag::O_DIRECT)) {
            Some(Ok(fd)) => {
                self.direct = true;
                Ok(fd)
            }
            _ => try_tmp(base),
        };
        let fd = match anon {
            Ok(fd) => fd,
            // no O_TMPFILE on this file system
            Err(Errno::EOPNOTSUPP | Errno::EISDIR | Errno::EINVAL | Errno::ENOENT) => {
                let name = format!("{RESERVED_PREFIX}put-{}", random_hex());
                let named = |flags: OFlag| {
                    openat(
                        self.dir(),
                        name.as_str(),
                        flags | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW,
                        mode,
                    )
                };
                let fd = match direct.then(|| named(base | OFlag::O_DIRECT)) {
                    Some(Ok(fd)) => {
                        self.direct = true;
                        fd
                    }
                    Some(Err(_)) => {
                        let _ = unlinkat(self.dir(), name.as_str(), UnlinkatFlags::NoRemoveDir);
                        named(base).map_err(errno_io)?
                    }
                    None => named(base).map_err(errno_io)?,
                };
                self.tmp = Some(name);
                fd
            }
            Err(e) => return Err(errno_io(e)),
        };
        self.file = Some(fs::File::from(fd));
        Ok(())
    }

    /// Whether writes still go around the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Whether the upload's file has no name until it is committed.
    pub fn is_anonymous(&self) -> bool {
        self.tmp.is_none()
    }

    /// Turns O_DIRECT off for the rest of the file.
    fn buffered(&mut self) -> io::Result<()> {
        use nix::fcntl::{fcntl, FcntlArg};
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

    /// Gives the nameless file the name `to` in the target's folder.
    fn link_anonymous(&self, f: &fs::File, to: &str) -> nix::Result<()> {
        let proc_path = format!("/proc/self/fd/{}", f.as_raw_fd());
        match linkat(
            AT_FDCWD,
            proc_path.as_str(),
            self.dir(),
            to,
            AtFlags::AT_SYMLINK_FOLLOW,
        ) {
            // no /proc: AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH)
            Err(Errno::ENOENT) if !Path::new("/proc/self/fd").exists() => {
                linkat(f, "", self.dir(), to, AtFlags::AT_EMPTY_PATH)
            }
            other => other,
        }
    }

    /// Moves the finished upload to its name: atomically replacing an
    /// existing file with `overwrite`, else only if the name is still free.
    ///
    /// # Errors
    /// `exists`, `forbidden` when a folder took the name meanwhile, or
    /// `internal` on I/O failure.
    pub fn commit(mut self, overwrite: bool, name: &str) -> Result<(), FrameError> {
        let f = self.file.take().ok_or_else(|| {
            FrameError::new(ErrorCode::Internal, "the upload is already committed")
        })?;
        f.sync_data().map_err(|e| internal("writing", &e))?;
        let exists = || {
            FrameError::new(
                ErrorCode::Exists,
                format!("{name:?} exists (ask with overwrite)"),
            )
        };
        let fail = |what: &str, e: Errno| match e {
            Errno::EISDIR | Errno::ENOTEMPTY => forbidden(name, "is a folder"),
            e => internal(what, &errno_io(e)),
        };
        let target = self.file_name.clone();
        let result = match (self.tmp.clone(), overwrite) {
            (None, false) => match self.link_anonymous(&f, &target) {
                Err(Errno::EEXIST) => Err(exists()),
                other => other.map_err(|e| fail("linking", e)),
            },
            (None, true) => {
                // a random reserved name first, then one atomic rename
                let staged = format!("{RESERVED_PREFIX}put-{}", random_hex());
                self.link_anonymous(&f, &staged)
                    .map_err(|e| fail("linking", e))
                    .and_then(|()| {
                        nix::fcntl::renameat(
                            self.dir(),
                            staged.as_str(),
                            self.dir(),
                            target.as_str(),
                        )
                        .map_err(|e| {
                            let _ =
                                unlinkat(self.dir(), staged.as_str(), UnlinkatFlags::NoRemoveDir);
                            fail("renaming", e)
                        })
                    })
            }
            (Some(tmp), false) => {
                match linkat(
                    self.dir(),
                    tmp.as_str(),
                    self.dir(),
                    target.as_str(),
                    AtFlags::empty(),
                ) {
                    Err(Errno::EEXIST) => Err(exists()),
                    other => other.map_err(|e| fail("linking", e)),
                }
            }
            (Some(tmp), true) => {
                nix::fcntl::renameat(self.dir(), tmp.as_str(), self.dir(), target.as_str())
                    .map_err(|e| fail("renaming", e))
                    .map(|()| self.tmp = None)
            }
        };
        if result.is_ok() {
            self.done = true;
        }
        result
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        self.file = None;
        if let (Some(tmp), Some(dir)) = (self.tmp.take(), self.dirs.last()) {
            let _ = unlinkat(&dir.0, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        }
        let mut held = self
            .root
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !self.done {
            // the folders this upload made, deepest first, unless another
            // upload is writing into one (an empty folder only: rmdir)
            for (name, parent) in self.created.iter().rev() {
                let mine = self.dirs.get(parent + 1).map(|d| d.1);
                if mine.is_some_and(|k| held.get(&k) == Some(&1)) {
                    let _ = unlinkat(
                        &self.dirs[*parent].0,
                        name.as_str(),
                        UnlinkatFlags::RemoveDir,
                    );
                }
            }
        }
        for (_, key) in &self.dirs {
            if let Some(n) = held.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    held.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(dir: &Path) -> Arc<Root> {
        Arc::new(Root::new(dir).unwrap())
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

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
            ".netray-put-1-0.part",
            "d/.netray-x",
        ] {
            let e = components(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::Forbidden, "{bad:?}");
        }
        let deep = "d/".repeat(MAX_DEPTH) + "f";
        assert_eq!(components(&deep).unwrap_err().code, ErrorCode::TooLarge);
        let ok = "d/".repeat(MAX_DEPTH - 1) + "f";
        assert_eq!(components(&ok).unwrap().len(), MAX_DEPTH);
        let long = "x".repeat(MAX_COMPONENT + 1);
        assert_eq!(components(&long).unwrap_err().code, ErrorCode::TooLarge);
        let huge = "ab/".repeat(2000);
        let e = components(&huge).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        assert!(e.message.len() < 200, "the message quotes a bounded prefix");
    }

    #[test]
    fn symlinks_are_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        std::fs::write(dir.path().join("real"), b"r").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("alias")).unwrap();
        let root = root(dir.path());
        let e = root.open_for_get("out/secret").unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert!(e.message.contains("symlink"), "{e}");
        assert_eq!(
            root.open_for_get("alias").unwrap_err().code,
            ErrorCode::Forbidden
        );
        let e = root.begin_put("out/new/file", false, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert_eq!(
            root.begin_put("alias", true, false).unwrap_err().code,
            ErrorCode::Forbidden
        );
        // nothing was created outside, or inside
        assert!(!outside.path().join("new").exists());
        assert_eq!(names(dir.path()), ["alias", "out", "real"]);
        assert_eq!(
            root.open_for_get("nope").unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(
            root.open_for_get("real/x").unwrap_err().code,
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&dir.path().join("p"), Mode::from_bits_truncate(0o644)).unwrap();
        let root = root(dir.path());
        assert_eq!(
            root.open_for_get("p").unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            root.begin_put("p", true, false).unwrap_err().code,
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn put_creates_parents_and_commit_respects_existing() {
        let dir = tempfile::tempdir().unwrap();
        let root = root(dir.path());
        let mut p = root.begin_put("x/y/z.bin", false, false).unwrap();
        assert!(dir.path().join("x/y").is_dir());
        p.write(b"one").unwrap();
        p.commit(false, "x/y/z.bin").unwrap();
        let e = root.begin_put("x/y/z.bin", false, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::Exists);
        // two uploads race for a free name: the second to commit is told
        let dir2 = tempfile::tempdir().unwrap();
        let r2 = root_of(dir2.path());
        let mut a = r2.begin_put("n", false, false).unwrap();
        let mut b = r2.begin_put("n", false, false).unwrap();
        a.write(b"first").unwrap();
        b.write(b"second").unwrap();
        a.commit(false, "n").unwrap();
        assert_eq!(b.commit(false, "n").unwrap_err().code, ErrorCode::Exists);
        assert_eq!(fs::read(dir2.path().join("n")).unwrap(), b"first");
        let mut p = root.begin_put("x/y/z.bin", true, false).unwrap();
        p.write(b"two").unwrap();
        p.commit(true, "x/y/z.bin").unwrap();
        assert_eq!(fs::read(dir.path().join("x/y/z.bin")).unwrap(), b"two");
        // no temporaries left, and the listing shows the one file
        let l = root.list().unwrap();
        assert_eq!(l.len(), 1, "{l:?}");
        assert_eq!((l[0].name.as_str(), l[0].size), ("x/y/z.bin", 3));
        assert_eq!(names(&dir.path().join("x/y")), ["z.bin"]);
        assert!(root.held.lock().unwrap().is_empty());
    }

    fn root_of(dir: &Path) -> Arc<Root> {
        root(dir)
    }

    #[test]
    fn the_upload_has_no_name_until_it_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let root = root(dir.path());
        let mut p = root.begin_put("f", false, false).unwrap();
        p.write(b"data").unwrap();
        // O_TMPFILE on the test's file system (ext4, xfs, btrfs, tmpfs)
        assert!(p.is_anonymous());
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
        p.commit(false, "f").unwrap();
        assert_eq!(names(dir.path()), ["f"]);
    }

    #[test]
    fn direct_writes_fall_back_for_tails_and_keep_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let root = root(dir.path());
        let mut p = root.begin_put("d", false, true).unwrap();
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
        let got = fs::read(dir.path().join("d")).unwrap();
        assert_eq!(got.len(), DIRECT_ALIGN + 4);
        assert_eq!(&got[..DIRECT_ALIGN], &block[..]);
        assert_eq!(&got[DIRECT_ALIGN..], b"tail");
    }

    #[test]
    fn an_abandoned_part_leaves_nothing_not_even_its_folders() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("kept")).unwrap();
        let root = root(dir.path());
        let p = root.begin_put("kept/new/deeper/f", false, false).unwrap();
        assert!(dir.path().join("kept/new/deeper").is_dir());
        drop(p);
        assert_eq!(names(dir.path()), ["kept"]);
        assert!(names(&dir.path().join("kept")).is_empty());
        // a refusal after folders were made undoes them too
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::write(dir.path().join("a/b/f"), b"x").unwrap();
        let e = root.begin_put("m/n/../x", false, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        // an upload that was started and dropped
        root.begin_put("z/y/x", false, false).map(drop).unwrap();
        assert_eq!(names(dir.path()), ["a", "kept"]);
        assert!(root.held.lock().unwrap().is_empty());
    }

    #[test]
    fn a_folder_another_upload_holds_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = root(dir.path());
        let first = root.begin_put("shared/a", false, false).unwrap();
        let mut second = root.begin_put("shared/b", false, false).unwrap();
        drop(first); // made "shared", failed: but the second still writes there
        assert!(dir.path().join("shared").is_dir());
        second.write(b"b").unwrap();
        second.commit(false, "shared/b").unwrap();
        assert_eq!(fs::read(dir.path().join("shared/b")).unwrap(), b"b");
    }

    #[test]
    fn deep_names_cost_linear_work() {
        let dir = tempfile::tempdir().unwrap();
        let root = root(dir.path());
        let name = "d/".repeat(MAX_DEPTH - 1) + "f";
        let t = std::time::Instant::now();
        let mut p = root.begin_put(&name, false, false).unwrap();
        p.write(b"deep").unwrap();
        p.commit(false, &name).unwrap();
        let f = root.open_for_get(&name).unwrap();
        assert_eq!(root.sha256(&f).unwrap().0, 4);
        // generous: the old walk took seconds at this depth on a loaded machine
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
