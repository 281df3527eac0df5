//! Reading the files an input names: regular files only (a FIFO would block,
//! a device would never end), bounded by what is actually read rather than
//! by what `stat` claims, and UTF-8 with the place where it is not.

use std::io::{self, Read};
use std::path::Path;

/// The largest input file read: far above any manifest Kubernetes stores
/// (objects are limited to 1.5 MB), far below what strains memory.
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// Reads `path` as UTF-8 text, refusing anything but a regular file (or a
/// symlink to one) and anything over [`MAX_FILE_BYTES`]. Errors are
/// `io::Error`s whose message says what was wrong, ready to follow the path.
pub fn read_text(path: &Path) -> io::Result<String> {
    read_text_limited(path, MAX_FILE_BYTES)
}

pub fn read_text_limited(path: &Path, limit: u64) -> io::Result<String> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {}, not a regular file", file_type(&meta)),
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    text_from_bytes(bytes)
}

/// The error of an input over `limit` bytes.
pub fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is larger than the {} MiB input limit", limit >> 20),
    )
}

/// `bytes` as UTF-8 text, or an error naming the line and offset where they
/// are not: for input read from elsewhere than a file (a git object).
pub fn text_from_bytes(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let prefix = &e.as_bytes()[..at];
        let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text: invalid byte at line {line} (byte offset {at})"),
        )
    })
}

/// Opening a FIFO for reading blocks until a writer comes; non-blocking, it
/// returns at once and the type check refuses it.
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

fn file_type(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn reads_a_regular_file_and_a_symlink_to_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "a: 1\n").unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_text(&file).unwrap(), "a: 1\n");
        assert_eq!(read_text(&link).unwrap(), "a: 1\n");
    }

    #[test]
    fn a_device_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read_text(&link).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it is a character device, not a regular file"
        );
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let started = Instant::now();
        let err = read_text(&fifo).unwrap_err();
        assert_eq!(err.to_string(), "it is a FIFO, not a regular file");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_text(dir.path()).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
    }

    #[test]
    fn the_limit_counts_what_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.yaml");
        std::fs::write(&file, vec![b'a'; (2 << 20) + 1]).unwrap();
        let err = read_text_limited(&file, 2 << 20).unwrap_err();
        assert_eq!(err.to_string(), "it is larger than the 2 MiB input limit");
        std::fs::write(&file, vec![b'a'; 2 << 20]).unwrap();
        assert_eq!(read_text_limited(&file, 2 << 20).unwrap().len(), 2 << 20);
    }

    #[test]
    fn invalid_utf8_names_its_line_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latin1.yaml");
        std::fs::write(&file, b"a: 1\nb: caf\xe9\n").unwrap();
        let err = read_text(&file).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not UTF-8 text: invalid byte at line 2 (byte offset 11)"
        );
    }
}
