//! Every file the tool writes goes through here: a temporary file in the
//! same directory, flushed and synced, then renamed over the final name.
//! A crash, a `kill -9` or a full disk leaves the previous file (or none),
//! never a truncated one under the final name.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::listfile::write_escaped;

fn temporary_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp.{}", std::process::id()))
}

/// Write `path` atomically with `fill`; on any error the temporary file is
/// removed and the old `path` is left as it was.
pub fn write_atomic<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    let tmp = temporary_name(path);
    let result = (|| {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        fill(&mut w)?;
        let file = w.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write names one a line, escaped as listing files escape them (so a
/// name holding a newline stays one line and reads back the same), atomically.
pub fn write_lines<'a>(path: &Path, lines: impl IntoIterator<Item = &'a [u8]>) -> io::Result<()> {
    write_atomic(path, |w| {
        for line in lines {
            write_escaped(w, line)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listfile::unescape;

    fn dir() -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("dc-atomic-{}-{:?}", std::process::id(), std::thread::current().id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary() {
        let d = dir();
        let p = d.join("list.txt");
        std::fs::write(&p, b"old\n").unwrap();
        let err = write_atomic(&p, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read(&p).unwrap(), b"old\n");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn lines_are_escaped_one_a_line() {
        let d = dir();
        let p = d.join("empty.txt");
        let names: [&[u8]; 3] = [b"/store/x\n/store/mc/keep", b"/store/\xff ", b"/store/plain"];
        write_lines(&p, names).unwrap();
        let text = std::fs::read(&p).unwrap();
        let lines: Vec<Vec<u8>> = text.split(|&c| c == b'\n').filter(|l| !l.is_empty()).map(unescape).collect();
        assert_eq!(lines, names.iter().map(|n| n.to_vec()).collect::<Vec<_>>());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
