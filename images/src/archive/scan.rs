//! First pass over a tarball: where each file's data is, its size and digest, and the
//! small JSON files that describe the layout.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::error::{Error, Result};

/// Files at most this large are kept in memory (JSON documents, configs).
const SMALL_FILE: u64 = 4 << 20;
/// Symlinks chained at most this deep (docker save links repeated layers).
const MAX_LINKS: usize = 16;

/// One regular file of the archive.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Where its data starts in the archive file.
    pub offset: u64,
    pub size: u64,
    pub digest: Digest,
    /// Its first bytes (to tell a gzip layer from a plain tar).
    pub head: Vec<u8>,
    /// Its content, if small.
    pub data: Option<Vec<u8>>,
}

/// What a tarball holds, by cleaned path.
#[derive(Debug, Default)]
pub struct ArchiveContents {
    pub files: BTreeMap<String, FileEntry>,
    /// Path shown in errors.
    pub display: String,
}

impl ArchiveContents {
    pub(crate) fn error(&self, reason: impl Into<String>) -> Error {
        Error::Archive {
            path: self.display.clone(),
            reason: reason.into(),
        }
    }

    /// The content of a small file, if the archive has it.
    pub fn small_file(&self, name: &str) -> Result<Option<&[u8]>> {
        match self.files.get(name) {
            None => Ok(None),
            Some(FileEntry { data: Some(d), .. }) => Ok(Some(d)),
            Some(_) => Err(self.error(format!("{name} is too large"))),
        }
    }
}

/// `path.Clean` for names in an archive, without a leading `/` or `./`.
pub(crate) fn clean(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Reads the whole archive at `path`, hashing every regular file.
pub fn scan(path: &Path) -> Result<ArchiveContents> {
    let display = path.display().to_string();
    let file = File::open(path).map_err(|source| Error::Io {
        what: "opening archive",
        path: path.to_owned(),
        source,
    })?;
    let mut contents = ArchiveContents {
        display,
        ..ArchiveContents::default()
    };
    let corrupt = |contents: &ArchiveContents, e: std::io::Error| {
        contents.error(format!("truncated or corrupt tar archive: {e}"))
    };
    let mut archive = tar::Archive::new(file);
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    let entries = archive.entries().map_err(|e| corrupt(&contents, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(&contents, e))?;
        let name = clean(&String::from_utf8_lossy(&entry.path_bytes()));
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            // A symlink is relative to its directory, a hard link to the archive's root.
            let target = if kind.is_symlink() && !target.starts_with('/') {
                let dir = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                clean(&format!("{dir}/{target}"))
            } else {
                clean(&target)
            };
            links.insert(name, target);
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        let offset = entry.raw_file_position();
        let size = entry.size();
        let mut hasher = Sha256::new();
        let mut head = Vec::new();
        let mut data = (size <= SMALL_FILE).then(Vec::new);
        let mut buf = vec![0u8; 256 << 10];
        let mut seen = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(|e| corrupt(&contents, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if head.len() < 8 {
                let want = (8 - head.len()).min(n);
                head.extend_from_slice(&buf[..want]);
            }
            if let Some(d) = data.as_mut() {
                d.extend_from_slice(&buf[..n]);
            }
            seen += n as u64;
        }
        if seen != size {
            return Err(contents.error(format!(
                "truncated tar archive: {name} has {seen} of {size} bytes"
            )));
        }
        let digest = Digest::parse(&format!("sha256:{}", hex::encode(hasher.finalize())))
            .expect("a sha256 we formatted");
        contents.files.insert(
            name,
            FileEntry {
                offset,
                size,
                digest,
                head,
                data,
            },
        );
    }
    for (name, target) in &links {
        let mut current = target.clone();
        let mut hops = 0;
        while let Some(next) = links.get(&current) {
            hops += 1;
            if hops > MAX_LINKS {
                return Err(contents.error(format!("link loop at {name}")));
            }
            current = next.clone();
        }
        match contents.files.get(&current) {
            Some(entry) => {
                let entry = entry.clone();
                contents.files.insert(name.clone(), entry);
            }
            None => {
                tracing::debug!(link = %name, target = %current, "dangling link in archive");
            }
        }
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean("./index.json"), "index.json");
        assert_eq!(clean("/blobs//sha256/./x"), "blobs/sha256/x");
        assert_eq!(clean("a/../../b"), "b");
    }
}
