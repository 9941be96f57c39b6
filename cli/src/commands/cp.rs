//! `mycli cp`: files between a container and the local filesystem through
//! `/containers/ID/archive`, with the docker CLI's rules for where things land: a
//! destination that is an existing directory receives the source under its own name,
//! otherwise the source is renamed to the destination; `SRC/.` copies a directory's
//! contents; a destination ending in `/` must be a directory; `-` is a tar on
//! stdin/stdout.

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use clap::Args;
use engine_api::containers::PathStat;

use super::Ctx;
use crate::client::{Body, Client, path_segment, query};
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[arg(value_name = "SRC")]
    pub source: String,
    #[arg(value_name = "DEST")]
    pub destination: String,
}

/// `CONTAINER:PATH` or a local path (an absolute or `./` path is always local, as in
/// docker's `splitCpArg`).
fn split_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') || arg.starts_with('.') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() => (Some(c), p),
        _ => (None, arg),
    }
}

pub fn cp(ctx: &Ctx, args: CpArgs) -> Result<i32> {
    let (src_c, src) = split_arg(&args.source);
    let (dst_c, dst) = split_arg(&args.destination);
    match (src_c, dst_c) {
        (Some(_), Some(_)) => Err(Error::InvalidArgument(
            "copying between containers is not supported".into(),
        )),
        (None, None) => Err(Error::InvalidArgument(
            "must specify at least one container source".into(),
        )),
        (Some(c), None) => from_container(ctx, &args, c, src, dst),
        (None, Some(c)) => to_container(ctx, &args, src, c, dst),
    }
}

/// Standard base64 (the stat header).
fn unbase64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn stat_of(resp: &crate::client::Response) -> Result<PathStat> {
    let header = resp
        .header("x-docker-container-path-stat")
        .ok_or_else(|| Error::Protocol("no X-Docker-Container-Path-Stat header".into()))?;
    let json =
        unbase64(header).ok_or_else(|| Error::Protocol("a malformed path stat header".into()))?;
    serde_json::from_slice(&json).map_err(|e| Error::json("decoding the path stat", e))
}

fn archive_path(container: &str, path: &str) -> String {
    format!(
        "/containers/{}/archive{}",
        path_segment(container),
        query(&[("path", path)])
    )
}

/// `HEAD` stat of a container path; `None` when it does not exist.
fn stat_path(client: &Client, container: &str, path: &str) -> Result<Option<PathStat>> {
    let resp = client.send("HEAD", &archive_path(container, path), Body::Empty)?;
    if resp.status == 404 {
        // HEAD has no body: tell a missing container from a missing path.
        client.get_json::<serde_json::Value>(&format!(
            "/containers/{}/json",
            path_segment(container)
        ))?;
        return Ok(None);
    }
    let resp = resp.check()?;
    stat_of(&resp).map(Some)
}

fn base_name(path: &str) -> String {
    Path::new(path.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

fn parent_of(path: &str) -> String {
    match Path::new(path.trim_end_matches('/')).parent() {
        Some(p) if p.as_os_str().is_empty() => ".".into(),
        Some(p) => p.display().to_string(),
        None => "/".into(),
    }
}

/// Docker's rule for the contents of a directory rather than the directory itself.
fn copies_contents(path: &str) -> bool {
    path == "." || path.ends_with("/.")
}

fn from_container(ctx: &Ctx, args: &CpArgs, container: &str, src: &str, dst: &str) -> Result<i32> {
    let client = ctx.client()?;
    let mut src_path = if src.is_empty() { "/" } else { src }.to_owned();
    if !src_path.starts_with('/') {
        src_path = format!("/{src_path}");
    }
    let mut rebase: Option<String> = None;
    if args.follow_link
        && let Some(st) = stat_path(&client, container, &src_path)?
        && st.is_symlink()
    {
        rebase = Some(base_name(&src_path));
        src_path = if st.link_target.starts_with('/') {
            st.link_target.clone()
        } else {
            format!("{}/{}", parent_of(&src_path), st.link_target)
        };
    }
    let resp = client.send("GET", &archive_path(container, &src_path), Body::Empty)?;
    let mut resp = resp.check()?;
    if dst == "-" {
        let mut out = io::stdout().lock();
        io::copy(&mut resp, &mut out).map_err(|e| Error::io("writing the archive", e))?;
        out.flush()
            .map_err(|e| Error::io("writing the archive", e))?;
        return Ok(0);
    }
    let stat = stat_of(&resp)?;
    let src_base = if copies_contents(&src_path) {
        ".".to_owned()
    } else {
        stat.name.clone()
    };
    let dst_meta = fs::metadata(dst).ok();
    // Where the entries go, and what the source's top entry is renamed to there.
    let (dir, new_base) = match &dst_meta {
        Some(m) if m.is_dir() => (PathBuf::from(dst), rebase.unwrap_or(src_base.clone())),
        Some(_) if stat.is_dir() => {
            return Err(Error::InvalidArgument(format!(
                "cannot copy a directory to a file: {dst}"
            )));
        }
        _ => {
            if dst_meta.is_none() && dst.ends_with('/') && !stat.is_dir() {
                return Err(Error::InvalidArgument(format!(
                    "destination directory {dst} does not exist"
                )));
            }
            let parent = PathBuf::from(parent_of(dst));
            if !parent.is_dir() {
                return Err(Error::InvalidArgument(format!(
                    "destination directory {} does not exist",
                    parent.display()
                )));
            }
            (parent, base_name(dst))
        }
    };
    let copied = untar(&mut resp, &dir, &src_base, &new_base, args.archive)?;
    if !args.quiet {
        eprintln!(
            "Successfully copied {} to {dst}",
            crate::units::human_size(copied as f64)
        );
    }
    Ok(0)
}

/// `old` (the tar's top name) → `new` at the front of a cleaned entry name.
fn rebase_name(name: &str, old: &str, new: &str) -> String {
    if old == "." {
        return if name.is_empty() {
            new.to_owned()
        } else {
            format!("{new}/{name}")
        };
    }
    if name == old {
        new.to_owned()
    } else if let Some(rest) = name.strip_prefix(&format!("{old}/")) {
        format!("{new}/{rest}")
    } else {
        name.to_owned()
    }
}

/// A tar entry's name without `.` and empty parts; `None` when `..` would leave the
/// destination.
fn clean(name: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            p => out.push(p),
        }
    }
    Some(out.join("/"))
}

/// Extracts a container's tar into the local `dir`, renaming its top entry; returns the
/// bytes of file content written.
fn untar(r: impl Read, dir: &Path, old: &str, new: &str, keep_owner: bool) -> Result<u64> {
    let bad = |e: io::Error| Error::io("extracting the archive", e);
    let root = dir.canonicalize().map_err(bad)?;
    let mut archive = tar::Archive::new(r);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(keep_owner);
    archive.set_overwrite(true);
    let mut total = 0;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = clean(&raw)
            .map(|n| rebase_name(&n, old, new))
            .and_then(|n| clean(&n))
            .ok_or_else(|| Error::InvalidArgument(format!("refusing the archive entry {raw:?}")))?;
        if name.is_empty() {
            // The destination directory itself (`SRC/.` into an existing directory).
            continue;
        }
        let target = root.join(&name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(bad)?;
            // An earlier entry may have made a symlink out of a directory on the way.
            if !parent.canonicalize().map_err(bad)?.starts_with(&root) {
                return Err(Error::InvalidArgument(format!(
                    "refusing the archive entry {raw:?}: it leads out of {}",
                    dir.display()
                )));
            }
        }
        if let Ok(m) = fs::symlink_metadata(&target)
            && !m.is_dir()
        {
            fs::remove_file(&target).map_err(bad)?;
        }
        let kind = entry.header().entry_type();
        if kind.is_hard_link() {
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let link = clean(&link)
                .map(|n| rebase_name(&n, old, new))
                .ok_or_else(|| {
                    Error::InvalidArgument(format!("refusing the hard link {raw:?} -> {link:?}"))
                })?;
            fs::hard_link(root.join(link), &target).map_err(bad)?;
            continue;
        }
        if kind.is_file() {
            total += entry.header().size().unwrap_or(0);
        }
        entry.unpack(&target).map_err(bad)?;
    }
    Ok(total)
}

fn to_container(ctx: &Ctx, args: &CpArgs, src: &str, container: &str, dst: &str) -> Result<i32> {
    let client = ctx.client()?;
    let mut dst_path = if dst.is_empty() { "/" } else { dst }.to_owned();
    if !dst_path.starts_with('/') {
        dst_path = format!("/{dst_path}");
    }
    let put = |dir: &str, body: Body<'_>| -> Result<()> {
        let mut params = vec![("path", dir), ("noOverwriteDirNonDir", "true")];
        if args.archive {
            params.push(("copyUIDGID", "true"));
        }
        let path = format!(
            "/containers/{}/archive{}",
            path_segment(container),
            query(&params)
        );
        client.send("PUT", &path, body)?.check()?.drain()
    };
    if src == "-" {
        let mut stdin = io::stdin().lock();
        put(&dst_path, Body::Stream(&mut stdin, "application/x-tar"))?;
        return Ok(0);
    }
    let meta = if args.follow_link {
        fs::metadata(src)
    } else {
        fs::symlink_metadata(src)
    }
    .map_err(|source| Error::File {
        context: format!("lstat {src}"),
        source,
    })?;
    // The destination: an existing directory takes the source as it is named; anything
    // else is the source's new name in its parent directory.
    let mut dst_stat = stat_path(&client, container, &dst_path)?;
    if let Some(st) = &dst_stat
        && st.is_symlink()
    {
        let target = if st.link_target.starts_with('/') {
            st.link_target.clone()
        } else {
            format!("{}/{}", parent_of(&dst_path), st.link_target)
        };
        dst_stat = stat_path(&client, container, &target)?;
        if dst_stat.as_ref().is_some_and(PathStat::is_dir) {
            dst_path = target;
        }
    }
    let src_base = if copies_contents(src) {
        ".".to_owned()
    } else {
        base_name(src)
    };
    let (dir, name) = match &dst_stat {
        Some(st) if st.is_dir() => (dst_path.clone(), src_base.clone()),
        Some(_) if meta.is_dir() => {
            return Err(Error::InvalidArgument(format!(
                "cannot copy a directory to a file: {dst}"
            )));
        }
        _ => {
            if dst_stat.is_none() && dst_path.ends_with('/') && !meta.is_dir() {
                return Err(Error::InvalidArgument(format!(
                    "destination directory {dst} does not exist"
                )));
            }
            (parent_of(&dst_path), base_name(&dst_path))
        }
    };
    let spool_path = std::env::temp_dir().join(format!(
        "mycli-cp-{}-{}.tar",
        std::process::id(),
        crate::units::now_unix()
    ));
    let result = (|| -> Result<u64> {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&spool_path)
            .map_err(|source| Error::File {
                context: format!("creating {}", spool_path.display()),
                source,
            })?;
        let mut tar = tar::Builder::new(file);
        let mut copied = 0;
        let top = if name == "." { "." } else { name.as_str() };
        append_local(
            &mut tar,
            Path::new(src),
            top,
            args.archive,
            &mut copied,
            args.follow_link,
            &mut std::collections::HashMap::new(),
        )
        .map_err(|e| Error::io(format!("archiving {src}"), e))?;
        let mut file = tar
            .into_inner()
            .map_err(|e| Error::io(format!("archiving {src}"), e))?;
        let len = file.stream_position().map_err(|e| Error::io("spool", e))?;
        file.rewind().map_err(|e| Error::io("spool", e))?;
        put(&dir, Body::Sized(&mut file, len, "application/x-tar"))?;
        Ok(copied)
    })();
    let _ = fs::remove_file(&spool_path);
    let copied = result?;
    if !args.quiet {
        eprintln!(
            "Successfully copied {} to {container}:{dst}",
            crate::units::human_size(copied as f64)
        );
    }
    Ok(0)
}

/// Appends the local `path` as `name` (and a directory's content below it). Without
/// `-a` the entries belong to root, as docker's (files land owned by the container's
/// root).
fn append_local<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &Path,
    name: &str,
    keep_owner: bool,
    copied: &mut u64,
    follow_top: bool,
    links: &mut std::collections::HashMap<(u64, u64), String>,
) -> io::Result<()> {
    // `-L` follows the source itself; links inside a tree are always kept as links.
    let meta = if follow_top {
        fs::metadata(path)?
    } else {
        fs::symlink_metadata(path)?
    };
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    if !keep_owner {
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("")?;
        header.set_groupname("")?;
    }
    let ft = meta.file_type();
    if ft.is_symlink() {
        header.set_size(0);
        tar.append_link(&mut header, name, fs::read_link(path)?)?;
    } else if ft.is_file()
        && meta.nlink() > 1
        && let Some(first) = links.get(&(meta.dev(), meta.ino()))
    {
        // Another name of a file already in the archive: a hard link, as docker's.
        header.set_entry_type(tar::EntryType::Link);
        header.set_size(0);
        tar.append_link(&mut header, name, first)?;
    } else if ft.is_file() {
        if meta.nlink() > 1 {
            links.insert((meta.dev(), meta.ino()), name.to_owned());
        }
        *copied += meta.size();
        tar.append_data(&mut header, name, fs::File::open(path)?)?;
    } else if ft.is_dir() {
        header.set_size(0);
        let dir_name = if name == "." {
            "./".to_owned()
        } else {
            format!("{name}/")
        };
        tar.append_data(&mut header, &dir_name, io::empty())?;
        let mut children: Vec<_> = fs::read_dir(path)?.filter_map(|e| e.ok()).collect();
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let n = child.file_name().to_string_lossy().into_owned();
            let child_name = if name == "." {
                n
            } else {
                format!("{name}/{n}")
            };
            append_local(
                tar,
                &child.path(),
                &child_name,
                keep_owner,
                copied,
                false,
                links,
            )?;
        }
    } else {
        header.set_size(0);
        tar.append_data(&mut header, name, io::empty())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_split_like_dockers() {
        assert_eq!(split_arg("web:/etc/hosts"), (Some("web"), "/etc/hosts"));
        assert_eq!(split_arg("/tmp/a:b"), (None, "/tmp/a:b"));
        assert_eq!(split_arg("./a:b"), (None, "./a:b"));
        assert_eq!(split_arg("file"), (None, "file"));
        assert_eq!(split_arg(":x"), (None, ":x"));
    }

    #[test]
    fn names_rebase_and_refuse_climbing() {
        assert_eq!(rebase_name("d/x", "d", "e"), "e/x");
        assert_eq!(rebase_name("d", "d", "e"), "e");
        assert_eq!(rebase_name("x", ".", "e"), "e/x");
        assert_eq!(clean("./a/./b/").unwrap(), "a/b");
        assert!(clean("../x").is_none());
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(unbase64("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(unbase64("Zm8=").unwrap(), b"fo");
        assert!(unbase64("*").is_none());
    }
}
