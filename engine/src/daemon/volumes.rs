//! Volumes, as Docker's `local` driver keeps them: a directory
//! `<data-root>/volumes/<name>/_data` per volume, its metadata (driver, labels, options,
//! creation time) in the engine's redb store. Containers name them with `-v NAME:/dst`
//! or `--mount type=volume`; `-v /dst`, an unnamed `--mount` and the `Volumes` of the
//! image's config get anonymous ones (a random 64-hex name and the
//! `com.docker.volume.anonymous` label), which `rm -v` and `--rm` remove with their
//! container. A volume new to a container is filled with what the image has at the
//! destination when it is empty (Docker's copy-up). Volumes made with driver options
//! (`type`, `device`, `o`) are mounted while a container using them runs.
//!
//! A volume is in use while any container, running or not, refers to it; a container
//! being created claims its volumes before they exist, so a removal never races with it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use engine_api::containers::{EmptyObject, HostConfig, MountPoint};
use engine_api::filters::Filters;
use engine_api::volumes::{Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneResponse};
use serde::{Deserialize, Serialize};

use super::{Daemon, random_id, spec};
use crate::error::{Error, Result};
use crate::store::ContainerRecord;

/// The only driver: volumes are directories on this host.
pub const DRIVER: &str = "local";
/// Marks a volume made without a name; prune takes only these unless told `all`.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";
/// The characters a volume name may use (moby's `RestrictedNameChars`), as its errors say.
const NAME_CHARS: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

/// What the store keeps about a volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    /// RFC 3339, seconds.
    pub created_at: String,
    /// As given at create (`None`: none given, shown as `null`).
    pub labels: Option<BTreeMap<String, String>>,
    /// The local driver's options (`type`, `device`, `o`).
    pub options: Option<BTreeMap<String, String>>,
}

impl VolumeRecord {
    pub fn is_anonymous(&self) -> bool {
        self.labels
            .as_ref()
            .is_some_and(|l| l.contains_key(ANONYMOUS_LABEL))
    }

    /// Whether the volume is a filesystem mounted on its data directory while in use.
    fn needs_mount(&self) -> bool {
        self.options.as_ref().is_some_and(|o| {
            o.get("type").is_some_and(|v| !v.is_empty())
                || o.get("device").is_some_and(|v| !v.is_empty())
        })
    }

    fn has_options(&self) -> bool {
        self.options.as_ref().is_some_and(|o| !o.is_empty())
    }
}

/// One volume mounted into a container, as its record keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeMount {
    pub name: String,
    /// Cleaned, absolute.
    pub destination: String,
    pub read_only: bool,
    /// Docker's `Mode` of inspect: the `-v` mode as typed, `z` when none was, empty for
    /// the volumes of `Config.Volumes`.
    pub mode: String,
    /// Named in the request (`-v NAME:/dst`, `--mount source=NAME`): `rm -v` keeps it.
    pub named: bool,
    /// Fill the volume with the image's content at the destination when it is empty.
    #[serde(skip)]
    pub copy_data: bool,
    /// From `Config.Volumes`: the image must not have a file at the destination.
    #[serde(skip)]
    pub from_config: bool,
}

/// A volume the create request asks for, before it exists.
struct Wanted {
    mount: VolumeMount,
    /// Empty: a new anonymous volume.
    name: String,
    /// Empty: `HostConfig.VolumeDriver`, else `local`.
    driver: String,
    options: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// The volume records and who uses them.
pub struct Volumes {
    /// `<data-root>/volumes`.
    root: PathBuf,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    records: BTreeMap<String, VolumeRecord>,
    /// Container being created → the volumes it has claimed (it is not in the daemon's
    /// map yet, so the records do not show it).
    claims: HashMap<String, BTreeSet<String>>,
    /// Volume with driver options → the running containers that have it mounted.
    mounted: HashMap<String, BTreeSet<String>>,
}

impl Volumes {
    /// Opens `root` (made `0701` if missing, as Docker's) with the stored records.
    pub fn open(root: PathBuf, records: Vec<VolumeRecord>) -> Result<Volumes> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o701)
            .create(&root)
            .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        let mut state = State::default();
        for r in records {
            if !root.join(&r.name).is_dir() {
                tracing::warn!(volume = %r.name, "volume directory missing; recreating it");
            }
            state.records.insert(r.name.clone(), r);
        }
        let v = Volumes {
            root,
            state: Mutex::new(state),
        };
        for name in v.lock().records.keys() {
            if let Err(e) = v.make_dirs(name) {
                tracing::warn!(volume = %name, "{e}");
            }
        }
        Ok(v)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The volume's data directory: what containers mount.
    pub fn data_path(&self, name: &str) -> PathBuf {
        self.root.join(name).join("_data")
    }

    fn make_dirs(&self, name: &str) -> Result<()> {
        let dir = self.root.join(name);
        for (path, mode) in [(&dir, 0o701), (&dir.join("_data"), 0o755)] {
            match std::fs::DirBuilder::new().mode(mode).create(path) {
                Ok(()) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io(format!("setting the mode of {}", path.display()), e))?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(Error::io(
                        format!(
                            "create {name}: error while creating volume path '{}'",
                            path.display()
                        ),
                        e,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Takes back the mounts of running containers after a restart (the kernel kept
    /// them), and unmounts those nothing running uses any more.
    pub fn restore<'a>(&self, running: impl Iterator<Item = (&'a str, &'a [VolumeMount])>) {
        let mut st = self.lock();
        for (id, vols) in running {
            for v in vols {
                if st
                    .records
                    .get(&v.name)
                    .is_some_and(VolumeRecord::needs_mount)
                {
                    st.mounted
                        .entry(v.name.clone())
                        .or_default()
                        .insert(id.to_owned());
                }
            }
        }
        let stale: Vec<String> = st
            .records
            .values()
            .filter(|r| r.needs_mount() && !st.mounted.contains_key(&r.name))
            .map(|r| r.name.clone())
            .collect();
        for name in stale {
            let path = self.data_path(&name);
            if is_mount_point(&path) {
                unmount(&path);
            }
        }
    }
}

// ------------------------------------------------------------------ names and options

/// Checks a volume name as the local driver does (moby `validateName`).
pub fn validate_name(name: &str) -> Result<()> {
    let wrap = |why: String| Error::BadParameter(format!("create {name}: {why}"));
    if name.chars().count() == 1 {
        return Err(wrap(
            "volume name is too short, names should be at least two alphanumeric characters".into(),
        ));
    }
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok {
        return Err(wrap(format!(
            "{name:?} includes invalid characters for a local volume name, only {NAME_CHARS:?} are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    Ok(())
}

/// Checks the local driver's options (moby `validateOpts`): `type`, `device`, `o` and
/// `size`, the first three only together. There are no quotas here, so a size is refused.
fn validate_options(name: &str, opts: &BTreeMap<String, String>) -> Result<()> {
    let wrap = |why: String| Error::BadParameter(format!("create {name}: {why}"));
    if let Some(bad) = opts
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "o" | "device" | "size"))
    {
        return Err(wrap(format!("invalid option: {bad:?}")));
    }
    if let Some(size) = opts.get("size")
        && size.trim_start_matches('0').trim() != ""
    {
        return Err(wrap("quota size requested but no quota support".into()));
    }
    for (opt, needs) in [
        ("device", &["type"][..]),
        ("type", &["device"][..]),
        ("o", &["device", "type"][..]),
    ] {
        if opts.contains_key(opt)
            && let Some(missing) = needs.iter().find(|n| !opts.contains_key(**n))
        {
            return Err(wrap(format!("missing required option: {missing:?}")));
        }
    }
    Ok(())
}

fn check_driver(driver: &str) -> Result<()> {
    if driver.is_empty() || driver == DRIVER {
        return Ok(());
    }
    Err(Error::NotFound(format!(
        "error looking up volume plugin {driver}: plugin {driver:?} not found"
    )))
}

fn no_such_volume(name: &str) -> Error {
    Error::NotFound(format!("get {name}: no such volume"))
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// moby's `MatchKVList`: every `key` or `key=value` of filter `field` holds for `labels`.
fn match_kv_list(filters: &Filters, field: &str, labels: &BTreeMap<String, String>) -> bool {
    filters.get(field).all(|f| match f.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(f),
    })
}

impl Daemon {
    // ---------------------------------------------------------------- the /volumes API

    /// Containers referring to `name`: recorded ones and those being created.
    fn volume_users(&self, st: &State, name: &str) -> Vec<String> {
        let mut users: BTreeSet<String> = st
            .claims
            .iter()
            .filter(|(_, vols)| vols.contains(name))
            .map(|(id, _)| id.clone())
            .collect();
        for c in self.all_containers() {
            if c.record().volumes.iter().any(|v| v.name == name) {
                users.insert(c.id.clone());
            }
        }
        users.into_iter().collect()
    }

    fn volume_api(&self, r: &VolumeRecord) -> Volume {
        Volume {
            created_at: r.created_at.clone(),
            driver: r.driver.clone(),
            labels: r.labels.clone(),
            mountpoint: self.volumes.data_path(&r.name).display().to_string(),
            name: r.name.clone(),
            options: r.options.clone(),
            scope: "local".into(),
            status: None,
            usage_data: None,
        }
    }

    /// Creates volume `name` (a random one when empty), or finds the existing one of
    /// that name (its labels and options stay as they were, as with Docker).
    fn create_volume_locked(
        &self,
        st: &mut State,
        name: &str,
        driver: &str,
        options: Option<BTreeMap<String, String>>,
        labels: Option<BTreeMap<String, String>>,
    ) -> Result<VolumeRecord> {
        check_driver(driver)?;
        let mut labels = labels;
        let name = if name.is_empty() {
            labels
                .get_or_insert_with(BTreeMap::new)
                .insert(ANONYMOUS_LABEL.into(), String::new());
            random_id()
        } else {
            validate_name(name)?;
            name.to_owned()
        };
        if let Some(existing) = st.records.get(&name) {
            return Ok(existing.clone());
        }
        if let Some(o) = &options {
            validate_options(&name, o)?;
        }
        let record = VolumeRecord {
            name: name.clone(),
            driver: DRIVER.into(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            labels,
            options,
        };
        self.volumes.make_dirs(&name)?;
        if let Err(e) = self.store.put_volume(&record) {
            let _ = std::fs::remove_dir_all(self.volumes.root.join(&name));
            return Err(e);
        }
        st.records.insert(name.clone(), record.clone());
        tracing::info!(volume = %name, "volume created");
        self.volume_event(&name, "create", &[]);
        Ok(record)
    }

    /// `POST /volumes/create`.
    pub fn create_volume(&self, req: &VolumeCreateRequest) -> Result<Volume> {
        let mut st = self.volumes.lock();
        let r = self.create_volume_locked(
            &mut st,
            &req.name,
            &req.driver,
            req.driver_opts.clone(),
            req.labels.clone(),
        )?;
        Ok(self.volume_api(&r))
    }

    /// `GET /volumes/{name}`.
    pub fn inspect_volume(&self, name: &str) -> Result<Volume> {
        let st = self.volumes.lock();
        let r = st.records.get(name).ok_or_else(|| no_such_volume(name))?;
        Ok(self.volume_api(r))
    }

    /// `GET /volumes`: filters `dangling`, `driver`, `label`, `name`.
    pub fn list_volumes(&self, filters: &Filters) -> Result<VolumeListResponse> {
        filters
            .validate(&["dangling", "driver", "label", "name"])
            .map_err(Error::BadParameter)?;
        let dangling = match filters.contains("dangling") {
            false => None,
            true => {
                let values: Vec<&str> = filters.get("dangling").collect();
                let yes = values.iter().any(|v| *v == "1" || *v == "true");
                let no = values.iter().any(|v| *v == "0" || *v == "false");
                if yes == no {
                    return Err(Error::BadParameter(format!(
                        "invalid filter 'dangling=[{}]'",
                        values.join(" ")
                    )));
                }
                Some(yes)
            }
        };
        let st = self.volumes.lock();
        let volumes = st
            .records
            .values()
            .filter(|r| filters.matches("driver", |d| d == r.driver))
            .filter(|r| filters.matches("name", |p| name_matches(p, &r.name)))
            .filter(|r| {
                match_kv_list(
                    filters,
                    "label",
                    r.labels.as_ref().unwrap_or(&BTreeMap::new()),
                )
            })
            .filter(|r| dangling.is_none_or(|d| d == self.volume_users(&st, &r.name).is_empty()))
            .map(|r| self.volume_api(r))
            .collect();
        Ok(VolumeListResponse {
            volumes,
            warnings: Vec::new(),
        })
    }

    /// `DELETE /volumes/{name}`: refused (409) while a container refers to it; with
    /// `force`, a missing volume is no error and the record goes even if the data
    /// cannot be removed.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let mut st = self.volumes.lock();
        if !st.records.contains_key(name) {
            return if force {
                Ok(())
            } else {
                Err(no_such_volume(name))
            };
        }
        self.remove_volume_locked(&mut st, name, force)
    }

    fn remove_volume_locked(&self, st: &mut State, name: &str, purge: bool) -> Result<()> {
        let users = self.volume_users(st, name);
        if !users.is_empty() {
            return Err(Error::Conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(", ")
            )));
        }
        let dir = self.volumes.root.join(name);
        let data = dir.join("_data");
        if is_mount_point(&data) {
            unmount(&data);
        }
        let removed = match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(
                format!(
                    "remove {name}: error removing volume path '{}'",
                    dir.display()
                ),
                e,
            )),
            _ => Ok(()),
        };
        if removed.is_err() && !purge {
            return removed;
        }
        self.store.delete_volume(name)?;
        st.records.remove(name);
        st.mounted.remove(name);
        tracing::info!(volume = %name, "volume removed");
        self.volume_event(name, "destroy", &[]);
        removed
    }

    /// `POST /volumes/prune`: local volumes no container refers to, without driver
    /// options; only anonymous ones unless the `all` filter says otherwise (API ≥ 1.42;
    /// `all_by_default` for older clients).
    pub fn prune_volumes(
        &self,
        filters: &Filters,
        all_by_default: bool,
    ) -> Result<VolumePruneResponse> {
        let mut filters = filters.clone();
        if all_by_default {
            filters.add("all", "true");
        }
        filters
            .validate(&["label", "label!", "all"])
            .map_err(Error::BadParameter)?;
        let all: Vec<&str> = filters.get("all").collect();
        let all = match all.as_slice() {
            [] => false,
            [one] => parse_bool(one).ok_or_else(|| {
                Error::BadParameter(format!(
                    "invalid filter 'all': strconv.ParseBool: parsing {one:?}: invalid syntax"
                ))
            })?,
            many => {
                return Err(Error::BadParameter(format!(
                    "invalid filter 'all=[{}]': only one value is expected",
                    many.join(" ")
                )));
            }
        };
        // Under the lock throughout: a concurrent prune waits instead of failing.
        let mut st = self.volumes.lock();
        let empty = BTreeMap::new();
        let candidates: Vec<String> = st
            .records
            .values()
            .filter(|r| r.driver == DRIVER && !r.has_options())
            .filter(|r| all || r.is_anonymous())
            .filter(|r| {
                let labels = r.labels.as_ref().unwrap_or(&empty);
                match_kv_list(&filters, "label", labels)
                    && !(filters.contains("label!") && match_kv_list(&filters, "label!", labels))
            })
            .map(|r| r.name.clone())
            .collect();
        let mut report = VolumePruneResponse::default();
        for name in candidates {
            if !self.volume_users(&st, &name).is_empty() {
                continue;
            }
            let size = dir_size(&self.volumes.data_path(&name));
            match self.remove_volume_locked(&mut st, &name, false) {
                Ok(()) => {
                    report.space_reclaimed += size;
                    report.volumes_deleted.push(name);
                }
                Err(e) => tracing::warn!(volume = %name, "prune: {e}"),
            }
        }
        Ok(report)
    }

    // ---------------------------------------------------------------- containers

    /// Works out the volumes of a new container from `Binds`, `Mounts` of type volume
    /// and `config_volumes` (the request's and the image's `Volumes`, skipped where
    /// something else is mounted), creates the missing ones, and claims them for `id`
    /// until [`release_volume_claims`](Self::release_volume_claims). On error nothing is
    /// left claimed and the anonymous volumes made here are gone again.
    pub(crate) fn claim_volumes(
        &self,
        id: &str,
        config_volumes: &BTreeMap<String, EmptyObject>,
        hc: &HostConfig,
    ) -> Result<Vec<VolumeMount>> {
        let wanted = wanted_volumes(config_volumes, hc)?;
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        check_driver(&hc.volume_driver)?;
        let mut st = self.volumes.lock();
        let mut out: Vec<VolumeMount> = Vec::new();
        let mut made_anonymous = Vec::new();
        let mut failure = None;
        for w in wanted {
            let driver = if w.driver.is_empty() {
                &hc.volume_driver
            } else {
                &w.driver
            };
            match self.create_volume_locked(&mut st, &w.name, driver, w.options, w.labels) {
                Ok(r) => {
                    if w.name.is_empty() {
                        made_anonymous.push(r.name.clone());
                    }
                    st.claims
                        .entry(id.to_owned())
                        .or_default()
                        .insert(r.name.clone());
                    out.push(VolumeMount {
                        name: r.name,
                        ..w.mount
                    });
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            st.claims.remove(id);
            for name in made_anonymous {
                if let Err(e) = self.remove_volume_locked(&mut st, &name, true) {
                    tracing::warn!(volume = %name, "removing after a failed create: {e}");
                }
            }
            return Err(e);
        }
        Ok(out)
    }

    /// The container is recorded (or gone): its record now shows what it uses.
    pub(crate) fn release_volume_claims(&self, id: &str) {
        self.volumes.lock().claims.remove(id);
    }

    /// The anonymous volumes of a container removed with `v` (or `--rm`); one another
    /// container also uses stays.
    pub(crate) fn remove_anonymous_volumes(&self, vols: &[VolumeMount]) {
        let mut st = self.volumes.lock();
        let mut seen = HashSet::new();
        for v in vols.iter().filter(|v| !v.named) {
            if !seen.insert(&v.name) || !st.records.contains_key(&v.name) {
                continue;
            }
            match self.remove_volume_locked(&mut st, &v.name, false) {
                Ok(()) | Err(Error::Conflict(_)) => {}
                Err(e) => tracing::warn!(volume = %v.name, "removing with its container: {e}"),
            }
        }
    }

    /// The spec's view of the volumes: data directories and destinations.
    pub(crate) fn volume_binds(&self, vols: &[VolumeMount]) -> Vec<spec::VolumeBind> {
        vols.iter()
            .map(|v| spec::VolumeBind {
                destination: v.destination.clone(),
                source: self.volumes.data_path(&v.name),
                read_only: v.read_only,
            })
            .collect()
    }

    /// Docker's copy-up: each volume that wants it and is still empty gets what the
    /// image (the container's new root filesystem, `rootfs`) has at its destination,
    /// with owners, modes and times. Volumes with driver options are left alone (their
    /// filesystem is only there while a container runs).
    pub(crate) async fn populate_volumes(
        &self,
        rootfs: &[myimages::Mount],
        vols: &[VolumeMount],
    ) -> Result<()> {
        let jobs: Vec<(VolumeMount, PathBuf)> = {
            let st = self.volumes.lock();
            vols.iter()
                .filter(|v| v.copy_data || v.from_config)
                .filter(|v| st.records.get(&v.name).is_some_and(|r| !r.needs_mount()))
                .map(|v| (v.clone(), self.volumes.data_path(&v.name)))
                .collect()
        };
        if jobs.is_empty() {
            return Ok(());
        }
        let rootfs = rootfs.to_vec();
        tokio::task::spawn_blocking(move || {
            myimages::rootfs::with_mounted(&rootfs, |root| {
                for (v, data) in &jobs {
                    populate_one(root, v, data)?;
                }
                Ok(())
            })
            .map_err(Error::Images)?
        })
        .await
        .map_err(Error::Handler)?
    }

    /// Mounts the volumes with driver options that `id` uses and nothing else has
    /// mounted (before its task starts).
    pub(crate) fn mount_volumes(&self, id: &str, vols: &[VolumeMount]) -> Result<()> {
        let mut st = self.volumes.lock();
        let mut done: Vec<String> = Vec::new();
        for v in vols {
            let Some(r) = st.records.get(&v.name).filter(|r| r.needs_mount()).cloned() else {
                continue;
            };
            if done.contains(&r.name) {
                continue;
            }
            let users = st.mounted.entry(r.name.clone()).or_default();
            if users.is_empty() {
                let path = self.volumes.data_path(&r.name);
                if let Err(e) = mount_volume(&r, &path) {
                    st.mounted.remove(&r.name);
                    drop(st);
                    self.unmount_volumes(id, vols);
                    return Err(e);
                }
            }
            st.mounted
                .entry(r.name.clone())
                .or_default()
                .insert(id.to_owned());
            done.push(r.name);
        }
        Ok(())
    }

    /// Undoes [`mount_volumes`](Self::mount_volumes) for `id` (its run is over): the
    /// last user unmounts.
    pub(crate) fn unmount_volumes(&self, id: &str, vols: &[VolumeMount]) {
        let mut st = self.volumes.lock();
        for v in vols {
            let Some(users) = st.mounted.get_mut(&v.name) else {
                continue;
            };
            if users.remove(id) && users.is_empty() {
                st.mounted.remove(&v.name);
                unmount(&self.volumes.data_path(&v.name));
            }
        }
    }

    /// The volumes' entries of `Mounts` in inspect and the list.
    pub fn volume_mount_points(&self, r: &ContainerRecord) -> Vec<MountPoint> {
        r.volumes
            .iter()
            .map(|v| MountPoint {
                kind: "volume".into(),
                name: v.name.clone(),
                source: self.volumes.data_path(&v.name).display().to_string(),
                destination: v.destination.clone(),
                driver: DRIVER.into(),
                mode: v.mode.clone(),
                rw: !v.read_only,
                propagation: String::new(),
            })
            .collect()
    }
}

/// The volumes a create request names, in Docker's order: `Binds`, then `Mounts`, then
/// `Config.Volumes` where nothing else is mounted. Malformed entries are 400s here;
/// clashes between destinations are left to the spec (it sees every mount).
fn wanted_volumes(
    config_volumes: &BTreeMap<String, EmptyObject>,
    hc: &HostConfig,
) -> Result<Vec<Wanted>> {
    let bad = |e: spec::SpecError| Error::BadParameter(e.to_string());
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for b in hc.binds.iter().flatten() {
        let bind = spec::parse_bind(b).map_err(bad)?;
        taken.insert(bind.destination.clone());
        let Some(name) = bind.volume else {
            continue;
        };
        let named = !name.is_empty();
        out.push(Wanted {
            mount: VolumeMount {
                destination: bind.destination,
                read_only: bind.read_only,
                mode: if bind.mode.is_empty() {
                    "z".into()
                } else {
                    bind.mode
                },
                named,
                copy_data: !bind.no_copy,
                ..Default::default()
            },
            name,
            driver: String::new(),
            options: None,
            labels: None,
        });
    }
    for m in &hc.mounts {
        let target = spec::clean_path(&m.target);
        taken.insert(target.clone());
        if m.kind != "volume" {
            continue;
        }
        if !m.target.starts_with('/') || target == "/" {
            return Err(Error::BadParameter(format!(
                "invalid mount config for type \"volume\": invalid mount path: '{}' mount path must be absolute",
                m.target
            )));
        }
        let opts = m.volume_options.clone().unwrap_or_default();
        if !opts.subpath.is_empty() {
            return Err(Error::NotImplemented("volume mounts with a subpath".into()));
        }
        let options = opts
            .driver_config
            .as_ref()
            .map(|d| d.options.clone())
            .filter(|o| !o.is_empty());
        out.push(Wanted {
            mount: VolumeMount {
                destination: target,
                read_only: m.read_only,
                mode: "z".into(),
                named: !m.source.is_empty(),
                copy_data: !opts.no_copy,
                ..Default::default()
            },
            name: m.source.clone(),
            driver: opts
                .driver_config
                .as_ref()
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            options,
            labels: (!opts.labels.is_empty()).then_some(opts.labels),
        });
    }
    taken.extend(
        hc.tmpfs
            .iter()
            .flatten()
            .map(|(dest, _)| spec::clean_path(dest)),
    );
    for key in config_volumes.keys() {
        let dest = spec::clean_path(key);
        if !key.starts_with('/') || dest == "/" {
            return Err(Error::BadParameter(format!(
                "invalid mount config for type \"volume\": invalid mount path: '{key}' mount path must be absolute"
            )));
        }
        if !taken.insert(dest.clone()) {
            continue;
        }
        out.push(Wanted {
            mount: VolumeMount {
                destination: dest,
                copy_data: true,
                from_config: true,
                ..Default::default()
            },
            name: String::new(),
            driver: String::new(),
            options: None,
            labels: None,
        });
    }
    Ok(out)
}

/// Go's `regexp.MatchString` for the patterns a `name` filter uses in practice:
/// literals, `.`, `*`, `+`, `?`, `^`, `$` and `\`-escapes, matched anywhere in `text`.
/// Anything else (classes, groups, alternation) is taken literally.
fn name_matches(pattern: &str, text: &str) -> bool {
    if pattern == text {
        return true;
    }
    #[derive(Clone, Copy)]
    enum Atom {
        Any,
        Char(char),
    }
    let mut atoms: Vec<(Atom, char)> = Vec::new(); // (atom, quantifier or ' ')
    let (anchored_start, body) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let (anchored_end, body) = match body.strip_suffix('$') {
        Some(rest) if !rest.ends_with('\\') => (true, rest),
        _ => (false, body),
    };
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '+' | '?' if !atoms.is_empty() && atoms.last().is_some_and(|a| a.1 == ' ') => {
                if let Some(last) = atoms.last_mut() {
                    last.1 = c;
                }
            }
            '.' => atoms.push((Atom::Any, ' ')),
            '\\' => atoms.push((Atom::Char(chars.next().unwrap_or('\\')), ' ')),
            c => atoms.push((Atom::Char(c), ' ')),
        }
    }
    let text: Vec<char> = text.chars().collect();
    fn here(atoms: &[(Atom, char)], text: &[char], anchored_end: bool) -> bool {
        let Some(&(atom, q)) = atoms.first() else {
            return !anchored_end || text.is_empty();
        };
        let one = |c: Option<&char>| match (atom, c) {
            (_, None) => false,
            (Atom::Any, Some(_)) => true,
            (Atom::Char(a), Some(c)) => a == *c,
        };
        match q {
            '*' | '+' | '?' => {
                let max = if q == '?' { 1 } else { text.len() };
                let mut n = 0;
                while n < max && one(text.get(n)) {
                    n += 1;
                }
                let min = usize::from(q == '+');
                (min..=n)
                    .rev()
                    .any(|k| here(&atoms[1..], &text[k..], anchored_end))
            }
            _ => one(text.first()) && here(&atoms[1..], &text[1..], anchored_end),
        }
    }
    if anchored_start {
        return here(&atoms, &text, anchored_end);
    }
    (0..=text.len()).any(|i| here(&atoms, &text[i..], anchored_end))
}

// ------------------------------------------------------------------ copy-up

/// Fills the volume `data` from `v.destination` in the image mounted at `root`.
fn populate_one(root: &Path, v: &VolumeMount, data: &Path) -> Result<()> {
    let Some(src) = myimages::rootfs::resolve_in_root(root, &v.destination) else {
        return Ok(());
    };
    let meta = match std::fs::symlink_metadata(&src) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    if !meta.is_dir() {
        if v.from_config {
            return Err(Error::BadParameter(format!(
                "cannot mount volume over existing file, file exists {}",
                v.destination
            )));
        }
        return Ok(());
    }
    if !v.copy_data {
        return Ok(());
    }
    copy_up(&src, data).map_err(|e| {
        Error::io(
            format!(
                "copying the image's {} into volume {}",
                v.destination, v.name
            ),
            e,
        )
    })
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn cstr(s: &[u8]) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Opens directory `name` under `dir` (or the path `name` itself for `None`) without
/// following a symlink at the last step.
fn open_dir(dir: Option<&OwnedFd>, name: &CString) -> io::Result<OwnedFd> {
    let at = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: openat with a valid C string; the fd is ours.
    let fd = cvt(unsafe {
        libc::openat(
            at,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: a fresh fd nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Copies the tree at `src` into the empty directory `dst`, which takes `src`'s owner,
/// mode and times. Everything is created relative to directory fds with `O_NOFOLLOW` and
/// `O_EXCL`, so a container that shares the volume cannot redirect a write out of it.
/// Hard links are copied as separate files; extended attributes are not copied.
fn copy_up(src: &Path, dst: &Path) -> io::Result<()> {
    let root = open_dir(None, &cstr(dst.as_os_str().as_bytes())?)?;
    if std::fs::read_dir(format!("/proc/self/fd/{}", root.as_raw_fd()))?
        .next()
        .is_some()
    {
        // Docker copies only into an empty volume: data already there wins.
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(src)?;
    copy_dir(src, &root)?;
    set_meta(&root, &meta)
}

fn copy_dir(src: &Path, dir: &OwnedFd) -> io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let name = cstr(entry.file_name().as_bytes())?;
        let ft = meta.file_type();
        let at = dir.as_raw_fd();
        if ft.is_dir() {
            // SAFETY: mkdirat with a valid C string relative to our directory fd.
            cvt(unsafe { libc::mkdirat(at, name.as_ptr(), 0o700) })?;
            let sub = open_dir(Some(dir), &name)?;
            copy_dir(&path, &sub)?;
            set_meta(&sub, &meta)?;
        } else if ft.is_file() {
            let mut from = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)?;
            // SAFETY: openat with a valid C string; the fd is ours.
            let fd = cvt(unsafe {
                libc::openat(
                    at,
                    name.as_ptr(),
                    libc::O_WRONLY
                        | libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC,
                    0o600 as libc::c_uint,
                )
            })?;
            // SAFETY: a fresh fd nobody else owns.
            let mut to = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
            io::copy(&mut from, &mut to)?;
            set_meta(&to.into(), &meta)?;
        } else if ft.is_symlink() {
            let target = cstr(std::fs::read_link(&path)?.as_os_str().as_bytes())?;
            // SAFETY: symlinkat with valid C strings.
            cvt(unsafe { libc::symlinkat(target.as_ptr(), at, name.as_ptr()) })?;
            set_meta_at(dir, &name, &meta)?;
        } else {
            // FIFOs, sockets and device nodes, with their mode.
            // SAFETY: mknodat with a valid C string relative to our directory fd.
            cvt(unsafe {
                libc::mknodat(
                    at,
                    name.as_ptr(),
                    meta.mode() as libc::mode_t,
                    meta.rdev() as libc::dev_t,
                )
            })?;
            set_meta_at(dir, &name, &meta)?;
        }
    }
    Ok(())
}

fn times(meta: &std::fs::Metadata) -> [libc::timespec; 2] {
    [
        libc::timespec {
            tv_sec: meta.atime() as libc::time_t,
            tv_nsec: meta.atime_nsec() as _,
        },
        libc::timespec {
            tv_sec: meta.mtime() as libc::time_t,
            tv_nsec: meta.mtime_nsec() as _,
        },
    ]
}

/// Owner, then mode (a chown clears set-id bits), then times, on an open file or dir.
fn set_meta(fd: &OwnedFd, meta: &std::fs::Metadata) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: plain syscalls on our own fd.
    unsafe {
        cvt(libc::fchown(fd, meta.uid(), meta.gid()))?;
        cvt(libc::fchmod(fd, (meta.mode() & 0o7777) as libc::mode_t))?;
        let t = times(meta);
        cvt(libc::futimens(fd, t.as_ptr()))?;
    }
    Ok(())
}

/// Owner and times of an entry that cannot be opened (symlinks, special files), never
/// following a symlink.
fn set_meta_at(dir: &OwnedFd, name: &CString, meta: &std::fs::Metadata) -> io::Result<()> {
    let t = times(meta);
    // SAFETY: *at syscalls with a valid C string relative to our directory fd.
    unsafe {
        cvt(libc::fchownat(
            dir.as_raw_fd(),
            name.as_ptr(),
            meta.uid(),
            meta.gid(),
            libc::AT_SYMLINK_NOFOLLOW,
        ))?;
        cvt(libc::utimensat(
            dir.as_raw_fd(),
            name.as_ptr(),
            t.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        ))?;
    }
    Ok(())
}

/// Bytes in files under `dir`, each inode once (moby's `directory.Size`).
fn dir_size(dir: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.len() > 0 && seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
    }
    total
}

// ------------------------------------------------------------------ driver options

/// Splits the `o` option into mount flags and filesystem data (moby/sys `parseOptions`).
fn mount_flags(o: &str) -> (libc::c_ulong, String) {
    let mut flags: libc::c_ulong = 0;
    let mut data = Vec::new();
    for opt in o.split(',').filter(|s| !s.is_empty()) {
        let (set, clear): (libc::c_ulong, libc::c_ulong) = match opt {
            "defaults" => (0, 0),
            "ro" => (libc::MS_RDONLY, 0),
            "rw" => (0, libc::MS_RDONLY),
            "suid" => (0, libc::MS_NOSUID),
            "nosuid" => (libc::MS_NOSUID, 0),
            "dev" => (0, libc::MS_NODEV),
            "nodev" => (libc::MS_NODEV, 0),
            "exec" => (0, libc::MS_NOEXEC),
            "noexec" => (libc::MS_NOEXEC, 0),
            "sync" => (libc::MS_SYNCHRONOUS, 0),
            "async" => (0, libc::MS_SYNCHRONOUS),
            "dirsync" => (libc::MS_DIRSYNC, 0),
            "mand" => (libc::MS_MANDLOCK, 0),
            "nomand" => (0, libc::MS_MANDLOCK),
            "atime" => (0, libc::MS_NOATIME),
            "noatime" => (libc::MS_NOATIME, 0),
            "diratime" => (0, libc::MS_NODIRATIME),
            "nodiratime" => (libc::MS_NODIRATIME, 0),
            "relatime" => (libc::MS_RELATIME, 0),
            "norelatime" => (0, libc::MS_RELATIME),
            "strictatime" => (libc::MS_STRICTATIME, 0),
            "nostrictatime" => (0, libc::MS_STRICTATIME),
            "bind" => (libc::MS_BIND, 0),
            "rbind" => (libc::MS_BIND | libc::MS_REC, 0),
            other => {
                data.push(other);
                (0, 0)
            }
        };
        flags = (flags | set) & !clear;
    }
    (flags, data.join(","))
}

/// Mounts the volume's filesystem (`type`, `device`, `o`) on its data directory.
fn mount_volume(r: &VolumeRecord, target: &Path) -> Result<()> {
    let opts = r.options.clone().unwrap_or_default();
    let get = |k: &str| opts.get(k).cloned().unwrap_or_default();
    let (device, fstype) = (get("device"), get("type"));
    let (flags, data) = mount_flags(&get("o"));
    let fail = |e: io::Error| {
        Error::io(
            format!(
                "error while mounting volume '{}': failed to mount local volume: mount {device}:{}, flags: {flags:#x}, data: {data}",
                target.display(),
                target.display()
            ),
            e,
        )
    };
    let c = |s: &str| cstr(s.as_bytes()).map_err(fail);
    let (src, dst, ty, dat) = (
        c(&device)?,
        cstr(target.as_os_str().as_bytes()).map_err(fail)?,
        c(&fstype)?,
        c(&data)?,
    );
    if flags & libc::MS_BIND != 0 {
        // SAFETY: mount(2) with valid C strings; a bind takes no type or data.
        cvt(unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                std::ptr::null(),
                flags & (libc::MS_BIND | libc::MS_REC),
                std::ptr::null(),
            )
        })
        .map_err(fail)?;
        let rest = flags & !(libc::MS_BIND | libc::MS_REC);
        if rest != 0 {
            // SAFETY: as above; other flags need a remount of the bind.
            let r = cvt(unsafe {
                libc::mount(
                    std::ptr::null(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REMOUNT | rest,
                    std::ptr::null(),
                )
            });
            if let Err(e) = r {
                unmount(target);
                return Err(fail(e));
            }
        }
        return Ok(());
    }
    // SAFETY: mount(2) with valid C strings.
    cvt(unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            ty.as_ptr(),
            flags,
            dat.as_ptr().cast(),
        )
    })
    .map_err(fail)?;
    Ok(())
}

fn unmount(path: &Path) {
    let Ok(p) = cstr(path.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: umount2 with a valid C string.
    if unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) {
            tracing::warn!("unmounting volume {}: {e}", path.display());
        }
    }
}

/// Whether something is mounted at `path` (`/proc/self/mountinfo`'s mount points).
fn is_mount_point(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| unescape_mountinfo(m) == want)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.len() >= i + 4
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_api::containers::{Mount, VolumeDriver, VolumeOptions};

    #[test]
    fn names_follow_the_local_driver() {
        for ok in ["ab", "data", "my_vol.1-x", "0a", "A-"] {
            validate_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let e = validate_name("a").unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(
            e.to_string(),
            "create a: volume name is too short, names should be at least two alphanumeric characters"
        );
        for bad in ["_x", ".x", "-x", "a/b", "../x", "a b", "x:y", "é1", "./x"] {
            let e = validate_name(bad).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
            assert!(
                e.to_string().contains(
                    "includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"
                ),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            validate_name("a/b").unwrap_err().to_string(),
            "create a/b: \"a/b\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        );
    }

    #[test]
    fn options_follow_the_local_driver() {
        let o = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        validate_options("v", &o(&[])).unwrap();
        validate_options("v", &o(&[("type", "tmpfs"), ("device", "tmpfs")])).unwrap();
        validate_options(
            "v",
            &o(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]),
        )
        .unwrap();
        validate_options("v", &o(&[("size", "0")])).unwrap();
        let err = |pairs| validate_options("v", &o(pairs)).unwrap_err().to_string();
        assert_eq!(
            err(&[("colour", "red")]),
            "create v: invalid option: \"colour\""
        );
        assert_eq!(
            err(&[("type", "tmpfs")]),
            "create v: missing required option: \"device\""
        );
        assert_eq!(
            err(&[("o", "x"), ("device", "d")]),
            "create v: missing required option: \"type\""
        );
        assert_eq!(
            err(&[("size", "10m")]),
            "create v: quota size requested but no quota support"
        );
        assert!(check_driver("local").is_ok() && check_driver("").is_ok());
        assert_eq!(check_driver("nfs-plugin").unwrap_err().status(), 404);
    }

    #[test]
    fn name_filters_match_like_go_regexps() {
        assert!(name_matches("data", "data"));
        assert!(name_matches("at", "data"), "unanchored");
        assert!(name_matches("^da", "data"));
        assert!(!name_matches("^at", "data"));
        assert!(name_matches("ta$", "data"));
        assert!(!name_matches("^dat$", "data"));
        assert!(name_matches("^d.*a$", "data"));
        assert!(name_matches("d.t", "data"));
        assert!(name_matches("x?data", "data"));
        assert!(!name_matches("a+z", "data"));
        assert!(name_matches("my\\.vol", "my.vol"));
        assert!(!name_matches("my\\.vol", "myxvol"));
        assert!(!name_matches("web", "data"));
    }

    #[test]
    fn create_requests_name_their_volumes_in_dockers_order() {
        let hc = HostConfig {
            binds: Some(vec![
                "/host:/h".into(),
                "data:/data:ro".into(),
                "/anon".into(),
                "cache:/cache:nocopy".into(),
            ]),
            mounts: vec![
                Mount {
                    kind: "volume".into(),
                    source: "logs".into(),
                    target: "/logs/".into(),
                    read_only: true,
                    volume_options: Some(VolumeOptions {
                        no_copy: true,
                        labels: [("k".to_string(), "v".to_string())].into(),
                        driver_config: Some(VolumeDriver {
                            name: "local".into(),
                            options: [("type".to_string(), "tmpfs".to_string())].into(),
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Mount {
                    kind: "volume".into(),
                    target: "/scratch".into(),
                    ..Default::default()
                },
                Mount {
                    kind: "tmpfs".into(),
                    target: "/tmp".into(),
                    ..Default::default()
                },
            ],
            tmpfs: Some([("/run".to_string(), String::new())].into()),
            ..Default::default()
        };
        let config: BTreeMap<String, EmptyObject> = ["/data", "/h", "/tmp", "/run", "/img/"]
            .iter()
            .map(|k| (k.to_string(), EmptyObject {}))
            .collect();
        let w = wanted_volumes(&config, &hc).unwrap();
        let summary: Vec<(&str, &str, bool, bool, &str, bool)> = w
            .iter()
            .map(|w| {
                (
                    w.name.as_str(),
                    w.mount.destination.as_str(),
                    w.mount.read_only,
                    w.mount.named,
                    w.mount.mode.as_str(),
                    w.mount.copy_data,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("data", "/data", true, true, "ro", true),
                ("", "/anon", false, false, "z", true),
                ("cache", "/cache", false, true, "nocopy", false),
                ("logs", "/logs", true, true, "z", false),
                ("", "/scratch", false, false, "z", true),
                // Config.Volumes only where nothing else mounts.
                ("", "/img", false, false, "", true),
            ]
        );
        assert!(w[5].mount.from_config && !w[0].mount.from_config);
        assert_eq!(w[3].labels.as_ref().unwrap()["k"], "v");
        assert_eq!(w[3].options.as_ref().unwrap()["type"], "tmpfs");
        assert_eq!(w[3].driver, "local");

        let bad = |hc: HostConfig, config: &[&str]| {
            let config = config
                .iter()
                .map(|k| (k.to_string(), EmptyObject {}))
                .collect();
            match wanted_volumes(&config, &hc) {
                Err(e) => e,
                Ok(_) => panic!("accepted"),
            }
        };
        let e = bad(
            HostConfig {
                binds: Some(vec!["data:rel".into()]),
                ..Default::default()
            },
            &[],
        );
        assert_eq!(e.status(), 400);
        assert!(
            e.to_string().contains("invalid volume specification"),
            "{e}"
        );
        let e = bad(HostConfig::default(), &["relative"]);
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("mount path must be absolute"), "{e}");
        let e = bad(
            HostConfig {
                mounts: vec![Mount {
                    kind: "volume".into(),
                    target: "/".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            &[],
        );
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn mount_options_split_into_flags_and_data() {
        let (f, d) = mount_flags("size=1m,ro,uid=5,noexec,rw,nosuid");
        assert_eq!(f, libc::MS_NOEXEC | libc::MS_NOSUID);
        assert_eq!(d, "size=1m,uid=5");
        let (f, d) = mount_flags("rbind");
        assert_eq!(f, libc::MS_BIND | libc::MS_REC);
        assert!(d.is_empty());
        assert_eq!(unescape_mountinfo("/a\\040b\\134c"), "/a b\\c");
        assert_eq!(unescape_mountinfo("/x\\04"), "/x\\04");
    }

    #[test]
    fn paths_in_the_image_resolve_inside_it() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("srv/data")).unwrap();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::os::unix::fs::symlink("/srv/data", r.join("data")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", r.join("srv/escape")).unwrap();
        assert_eq!(
            myimages::rootfs::resolve_in_root(r, "/data").unwrap(),
            r.join("srv/data")
        );
        assert_eq!(
            myimages::rootfs::resolve_in_root(r, "/srv/escape").unwrap(),
            r.join("etc")
        );
        assert_eq!(myimages::rootfs::resolve_in_root(r, "/missing/x"), None);
    }

    #[test]
    fn copy_up_keeps_the_tree_and_never_overwrites() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        std::fs::create_dir_all(s.join("sub/deeper")).unwrap();
        std::fs::write(s.join("sub/deeper/file"), b"hello").unwrap();
        std::fs::write(s.join("top"), b"top").unwrap();
        std::fs::set_permissions(s.join("top"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", s.join("link")).unwrap();
        std::fs::set_permissions(s, std::fs::Permissions::from_mode(0o750)).unwrap();
        let dst = tempfile::tempdir().unwrap();
        let d = dst.path().join("_data");
        std::fs::create_dir(&d).unwrap();
        copy_up(s, &d).unwrap();
        assert_eq!(std::fs::read(d.join("sub/deeper/file")).unwrap(), b"hello");
        let m = std::fs::symlink_metadata(d.join("top")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_eq!(
            m.mtime(),
            std::fs::symlink_metadata(s.join("top")).unwrap().mtime()
        );
        assert_eq!(
            std::fs::read_link(d.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        // The volume's root takes the source directory's mode.
        assert_eq!(
            std::fs::metadata(&d).unwrap().mode() & 0o7777,
            0o750,
            "root mode"
        );
        // A volume with data keeps it.
        std::fs::write(s.join("new"), b"x").unwrap();
        copy_up(s, &d).unwrap();
        assert!(!d.join("new").exists());
        // Symlinks count with their own size, as in moby's `directory.Size`.
        assert_eq!(dir_size(&d), 5 + 3 + "/etc/passwd".len() as u64);
    }
}
