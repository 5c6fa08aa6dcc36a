//! Reading one input of a comparison whose kind is not given: a tree file
//! or a listing file, told apart by its first bytes.
//!
//! The file is opened once, and the bytes looked at are read again from
//! memory rather than from the file: a pipe (`/dev/stdin`, `<(...)`) or a
//! FIFO gives its bytes once, and a second open of a FIFO waits for a writer
//! that never comes. A file named `*.tree` must be a tree file: an empty one
//! (a save that never happened, a truncation to nothing) is refused rather
//! than read as an empty listing, which would make every inventory file
//! missing.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::listfile::{self, ListingError, ListingFormat};
use crate::tree::Tree;
use crate::treefile::{self, TreeFileError, MAGIC};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Tree(#[from] TreeFileError),
    #[error(transparent)]
    Listing(#[from] ListingError),
}

/// Read up to `buf.len()` bytes, fewer only at the end of the input.
fn read_head(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn named_tree(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "tree")
}

/// Read `path` as a tree file when it starts as one, else as a listing file
/// in `format`.
pub fn read_input(path: &Path, format: ListingFormat) -> Result<Tree, InputError> {
    let name = path.display().to_string();
    let mut file = File::open(path).map_err(|source| ListingError::Io { path: name.clone(), source })?;
    let meta = file.metadata().map_err(|source| ListingError::Io { path: name.clone(), source })?;
    let mut head = [0u8; MAGIC.len()];
    let n = read_head(&mut file, &mut head).map_err(|source| ListingError::Io { path: name.clone(), source })?;
    let head = &head[..n];
    let rest = io::Cursor::new(head.to_vec()).chain(file);
    if head == MAGIC {
        let len = meta.is_file().then_some(meta.len());
        return Ok(treefile::read_tree_sized(BufReader::with_capacity(1 << 20, rest), &name, len)?);
    }
    if named_tree(path) {
        return Err(if n == 0 {
            TreeFileError::Empty { path: name }
        } else {
            TreeFileError::NotATreeFile { path: name }
        }
        .into());
    }
    let mut tree = listfile::tree_for(&meta);
    listfile::read_into(&mut tree, rest, &name, format)?;
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_files_and_listings_are_told_apart_and_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Tree::new(7);
        t.add_file_path(b"/store/a/1.root", 1, 2);
        let tree_path = dir.path().join("site.tree");
        treefile::save_tree(&t, &tree_path).unwrap();
        assert_eq!(read_input(&tree_path, ListingFormat::Auto).unwrap().hash(), t.hash());
        // the first line is kept whole however short the file
        for text in [&b"/a|1|2\n/b|3|4\n"[..], b"/a", b"/a|1"] {
            let p = dir.path().join("listing.txt");
            std::fs::write(&p, text).unwrap();
            let back = read_input(&p, ListingFormat::Auto).unwrap();
            assert_eq!(back.files_sorted(None)[0].0, b"/a");
        }
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(read_input(&empty, ListingFormat::Auto).unwrap().file_count(), 0);
    }

    #[test]
    fn a_tree_name_must_hold_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("site.tree");
        std::fs::write(&p, b"").unwrap();
        let err = read_input(&p, ListingFormat::Auto).err().expect("must fail");
        assert!(matches!(err, InputError::Tree(TreeFileError::Empty { .. })), "{err}");
        std::fs::write(&p, b"/a|1|2\n").unwrap();
        let err = read_input(&p, ListingFormat::Auto).err().expect("must fail");
        assert!(matches!(err, InputError::Tree(TreeFileError::NotATreeFile { .. })), "{err}");
    }

    #[test]
    fn a_fifo_is_read_once_from_its_first_byte() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&p).status().unwrap().success());
        let writer = {
            let p = p.clone();
            std::thread::spawn(move || std::fs::write(p, b"/store/x/first.root|12|34\n/store/x/second.root|5|6\n"))
        };
        let tree = read_input(&p, ListingFormat::Auto).unwrap();
        writer.join().unwrap().unwrap();
        let files = tree.files_sorted(None);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0], (b"/store/x/first.root".to_vec(), 12, 34));
    }
}
