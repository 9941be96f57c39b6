//! Garbage collection of content and snapshots: mark from the roots, sweep the rest.
//!
//! Roots, per namespace: images (their target and `containerd.io/gc.ref.*` labels);
//! containers (their `snapshotter`/`snapshot_key` and labels); leases that have not
//! expired (`containerd.io/gc.expire`, RFC 3339), through every resource they hold
//! (`content`, `snapshots/<snapshotter>`, `ingests`); content and snapshots labelled
//! `containerd.io/gc.root`; writes in progress (ingests) that belong to no lease and were
//! touched in the last 24 hours.
//!
//! References followed: content labels `containerd.io/gc.ref.content[.<anything>]` (a
//! digest in the same namespace) and `containerd.io/gc.ref.snapshot.<snapshotter>[/…]`
//! (a snapshot key); a snapshot's parent and its own `gc.ref` labels; an ingest's
//! expected digest.
//!
//! Sweep, in one write transaction (so nothing changes between mark and sweep): content
//! records and snapshot records nobody reaches, and expired leases. Then, holding the
//! content store's blob lock (so no commit interleaves), the blob files no namespace
//! records any more (including ones a crash orphaned), the swept snapshots' directories
//! (children before parents), and ingests whose lease is gone or that went stale.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use myproto::containerd::services::containers::v1::Container;
use myproto::containerd::services::content::v1::Info;
use myproto::containerd::services::images::v1::Image;
use myproto::containerd::services::leases::v1::Lease;
use redb::ReadableTable;
use tokio_util::sync::CancellationToken;

use crate::content::{ContentStore, IngestInfo};
use crate::error::Result;
use crate::metadata::snapshots::{snap_key, split_key};
use crate::metadata::{
    self, CONTAINERS, CONTENT, IMAGES, LEASE_RESOURCES, LEASES, SNAPSHOTS, SnapshotRecord, Store,
    decode,
};
use crate::snapshots::SnapshotManager;

pub const LABEL_ROOT: &str = "containerd.io/gc.root";
pub const LABEL_EXPIRE: &str = "containerd.io/gc.expire";
const LABEL_REF_CONTENT: &str = "containerd.io/gc.ref.content";
const LABEL_REF_SNAPSHOT: &str = "containerd.io/gc.ref.snapshot.";
/// Ingests outside any lease are kept this long after their last write (as containerd).
const INGEST_EXPIRY: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Node {
    Content(String, String),
    Snapshot(String, String, String),
    Ingest(String, String),
}

/// What one collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub content: usize,
    pub blobs: usize,
    pub snapshots: usize,
    pub leases: usize,
    pub ingests: usize,
}

/// The references a set of labels makes, from namespace `ns`.
fn label_refs(ns: &str, labels: &HashMap<String, String>, out: &mut Vec<Node>) {
    for (k, v) in labels {
        if k.starts_with(LABEL_REF_CONTENT) {
            out.push(Node::Content(ns.into(), v.clone()));
        } else if let Some(rest) = k.strip_prefix(LABEL_REF_SNAPSHOT) {
            let sn = rest.split('/').next().unwrap_or(rest);
            if !sn.is_empty() {
                out.push(Node::Snapshot(ns.into(), sn.into(), v.clone()));
            }
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 time (`2006-01-02T15:04:05Z`, `…05.999+02:00`) as Go clients write it.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let digits = &frac[..n.min(9)];
        nanos = digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32);
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    if secs >= 0 {
        Some(UNIX_EPOCH + Duration::new(secs as u64, nanos))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs((-secs) as u64))
    }
}

fn expired(labels: &HashMap<String, String>, now: SystemTime) -> bool {
    labels
        .get(LABEL_EXPIRE)
        .and_then(|v| parse_rfc3339(v))
        .is_some_and(|t| t <= now)
}

/// What the transaction decided; the files go afterwards.
#[derive(Debug, Default)]
struct Plan {
    swept: Swept,
    /// (snapshotter, id), children before parents.
    snapshot_dirs: Vec<(String, u64)>,
    ingests: Vec<(String, String)>,
    live_leases: HashSet<(String, String)>,
}

/// Marks and sweeps the metadata in one write transaction.
fn mark_and_sweep(store: &Store, ingests: &[IngestInfo], now: SystemTime) -> Result<Plan> {
    let tx = store.db.begin_write()?;
    let mut plan = Plan::default();
    {
        let mut roots: Vec<Node> = Vec::new();
        // Leases: the live ones hold their resources; the expired ones go.
        let mut expired_leases = Vec::new();
        for e in tx.open_table(LEASES)?.iter()? {
            let (k, v) = e?;
            let lease: Lease = decode(v.value())?;
            let Some((ns, _)) = k.value().split_once('/') else {
                continue;
            };
            if expired(&lease.labels, now) {
                expired_leases.push((ns.to_string(), lease.id));
            } else {
                plan.live_leases.insert((ns.to_string(), lease.id));
            }
        }
        for e in tx.open_table(LEASE_RESOURCES)?.iter()? {
            let (k, _) = e?;
            let k = k.value();
            let Some((ns, rest)) = k.split_once('/') else {
                continue;
            };
            let mut parts = rest.splitn(3, '\0');
            let (Some(lease), Some(typ), Some(id)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if !plan
                .live_leases
                .contains(&(ns.to_string(), lease.to_string()))
            {
                continue;
            }
            match typ {
                "content" => roots.push(Node::Content(ns.into(), id.into())),
                "ingests" => roots.push(Node::Ingest(ns.into(), id.into())),
                t => {
                    if let Some(sn) = t.strip_prefix("snapshots/") {
                        roots.push(Node::Snapshot(ns.into(), sn.into(), id.into()));
                    }
                }
            }
        }
        for e in tx.open_table(IMAGES)?.iter()? {
            let (k, v) = e?;
            let Some((ns, _)) = k.value().split_once('/') else {
                continue;
            };
            let image: Image = decode(v.value())?;
            if let Some(t) = &image.target {
                roots.push(Node::Content(ns.into(), t.digest.clone()));
            }
            label_refs(ns, &image.labels, &mut roots);
        }
        for e in tx.open_table(CONTAINERS)?.iter()? {
            let (k, v) = e?;
            let Some((ns, _)) = k.value().split_once('/') else {
                continue;
            };
            let c: Container = decode(v.value())?;
            if !c.snapshotter.is_empty() && !c.snapshot_key.is_empty() {
                roots.push(Node::Snapshot(
                    ns.into(),
                    c.snapshotter.clone(),
                    c.snapshot_key.clone(),
                ));
            }
            label_refs(ns, &c.labels, &mut roots);
        }
        let mut content: HashMap<(String, String), Info> = HashMap::new();
        for e in tx.open_table(CONTENT)?.iter()? {
            let (k, v) = e?;
            let Some((ns, dgst)) = k.value().split_once('/') else {
                continue;
            };
            let info: Info = decode(v.value())?;
            if info.labels.contains_key(LABEL_ROOT) {
                roots.push(Node::Content(ns.into(), dgst.into()));
            }
            content.insert((ns.to_string(), dgst.to_string()), info);
        }
        let mut snaps: HashMap<(String, String, String), SnapshotRecord> = HashMap::new();
        for e in tx.open_table(SNAPSHOTS)?.iter()? {
            let (k, v) = e?;
            let Some((ns, sn, key)) = split_key(k.value()) else {
                continue;
            };
            let rec: SnapshotRecord = decode(v.value())?;
            if rec.labels.contains_key(LABEL_ROOT) {
                roots.push(Node::Snapshot(ns.into(), sn.into(), key.into()));
            }
            snaps.insert((ns.into(), sn.into(), key.into()), rec);
        }
        let ingest_expected: HashMap<(String, String), String> = ingests
            .iter()
            .map(|i| ((i.namespace.clone(), i.r#ref.clone()), i.expected.clone()))
            .collect();
        for i in ingests {
            let fresh = now.duration_since(i.updated_at).unwrap_or_default() < INGEST_EXPIRY;
            if i.lease.is_none() && fresh {
                roots.push(Node::Ingest(i.namespace.clone(), i.r#ref.clone()));
            }
        }

        // Mark.
        let mut marked: HashSet<Node> = HashSet::new();
        let mut queue: VecDeque<Node> = roots.into();
        while let Some(n) = queue.pop_front() {
            if !marked.insert(n.clone()) {
                continue;
            }
            let mut next = Vec::new();
            match &n {
                Node::Content(ns, d) => {
                    if let Some(info) = content.get(&(ns.clone(), d.clone())) {
                        label_refs(ns, &info.labels, &mut next);
                    }
                }
                Node::Snapshot(ns, sn, key) => {
                    if let Some(r) = snaps.get(&(ns.clone(), sn.clone(), key.clone())) {
                        if !r.parent.is_empty() {
                            next.push(Node::Snapshot(ns.clone(), sn.clone(), r.parent.clone()));
                        }
                        label_refs(ns, &r.labels, &mut next);
                    }
                }
                Node::Ingest(ns, r) => {
                    if let Some(d) = ingest_expected.get(&(ns.clone(), r.clone()))
                        && !d.is_empty()
                    {
                        next.push(Node::Content(ns.clone(), d.clone()));
                    }
                }
            }
            queue.extend(next.into_iter().filter(|n| !marked.contains(n)));
        }

        // Sweep the records.
        for (ns, dgst) in content.keys() {
            if !marked.contains(&Node::Content(ns.clone(), dgst.clone())) {
                metadata::content::remove_in(&tx, ns, dgst)?;
                plan.swept.content += 1;
                tracing::debug!(namespace = %ns, digest = %dgst, "gc: content record removed");
            }
        }
        let mut dead: HashMap<(String, String, String), &SnapshotRecord> = snaps
            .iter()
            .filter(|(k, _)| {
                !marked.contains(&Node::Snapshot(k.0.clone(), k.1.clone(), k.2.clone()))
            })
            .map(|(k, r)| (k.clone(), r))
            .collect();
        {
            let mut t = tx.open_table(SNAPSHOTS)?;
            // Leaves first: a snapshot goes once none of the dead ones has it as parent.
            while !dead.is_empty() {
                let parents: HashSet<(String, String, String)> = dead
                    .iter()
                    .map(|(k, r)| (k.0.clone(), k.1.clone(), r.parent.clone()))
                    .collect();
                let leaves: Vec<_> = dead
                    .keys()
                    .filter(|k| !parents.contains(*k))
                    .cloned()
                    .collect();
                let leaves = if leaves.is_empty() {
                    dead.keys().cloned().collect()
                } else {
                    leaves
                };
                for k in leaves {
                    let r = dead.remove(&k).expect("present");
                    t.remove(snap_key(&k.0, &k.1, &k.2).as_str())?;
                    plan.snapshot_dirs.push((k.1.clone(), r.id));
                    plan.swept.snapshots += 1;
                    tracing::debug!(namespace = %k.0, snapshotter = %k.1, key = %k.2, "gc: snapshot removed");
                }
            }
        }
        for (ns, id) in &expired_leases {
            let mut t = tx.open_table(LEASES)?;
            t.remove(metadata::key(ns, id).as_str())?;
            let lo = format!("{ns}/{id}\0");
            let hi = format!("{ns}/{id}\u{1}");
            tx.open_table(LEASE_RESOURCES)?
                .retain_in(lo.as_str()..hi.as_str(), |_, _| false)?;
            plan.swept.leases += 1;
            tracing::debug!(namespace = %ns, lease = %id, "gc: expired lease removed");
        }
        for i in ingests {
            let keep = marked.contains(&Node::Ingest(i.namespace.clone(), i.r#ref.clone()))
                && i.lease
                    .as_ref()
                    .is_none_or(|l| plan.live_leases.contains(&(i.namespace.clone(), l.clone())));
            if !keep {
                plan.ingests.push((i.namespace.clone(), i.r#ref.clone()));
            }
        }
    }
    tx.commit()?;
    Ok(plan)
}

pub struct GarbageCollector {
    store: Arc<Store>,
    content: Arc<ContentStore>,
    snapshots: Arc<SnapshotManager>,
    wake: tokio::sync::Notify,
    dirty: AtomicBool,
    /// One collection at a time.
    running: std::sync::Mutex<()>,
}

impl GarbageCollector {
    pub fn new(
        store: Arc<Store>,
        content: Arc<ContentStore>,
        snapshots: Arc<SnapshotManager>,
    ) -> Arc<Self> {
        Arc::new(GarbageCollector {
            store,
            content,
            snapshots,
            wake: tokio::sync::Notify::new(),
            dirty: AtomicBool::new(false),
            running: std::sync::Mutex::new(()),
        })
    }

    /// Asks for a collection soon (after a deletion).
    pub fn trigger(&self) {
        self.dirty.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Collects now and returns when done.
    pub async fn collect(self: &Arc<Self>) -> Result<Swept> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.collect_blocking())
            .await
            .map_err(|e| crate::error::Error::Store(format!("garbage collection: {e}")))?
    }

    pub fn collect_blocking(&self) -> Result<Swept> {
        let _one = self.running.lock().unwrap_or_else(|e| e.into_inner());
        self.dirty.store(false, Ordering::SeqCst);
        let started = std::time::Instant::now();
        let blob_lock = self
            .content
            .blob_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let plan = mark_and_sweep(&self.store, &self.content.ingests(), SystemTime::now())?;
        let mut swept = plan.swept;
        // Blob files no namespace holds (swept now, deleted, or orphaned by a crash).
        for d in self.content.blob_files() {
            if !self.store.content_held(&d)? {
                self.content.remove_blob_file(&d);
                swept.blobs += 1;
            }
        }
        drop(blob_lock);
        let mut by_snapshotter: HashMap<String, Vec<u64>> = HashMap::new();
        for (sn, id) in plan.snapshot_dirs {
            by_snapshotter.entry(sn).or_default().push(id);
        }
        for (sn, ids) in by_snapshotter {
            self.snapshots.remove_dirs(&sn, &ids);
        }
        for (ns, r) in plan.ingests {
            // One being written right now is locked: it stays for the next round.
            if self.content.abort(&ns, &r).is_ok() {
                swept.ingests += 1;
            }
        }
        if swept != Swept::default() {
            tracing::info!(
                ?swept,
                ms = started.elapsed().as_millis() as u64,
                "garbage collected"
            );
        }
        Ok(swept)
    }

    /// Collects once soon after start (what a crash left), then when triggered (debounced)
    /// and every `period`, until `shutdown`.
    pub fn spawn(self: &Arc<Self>, shutdown: CancellationToken, period: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            if let Err(e) = me.collect().await {
                tracing::warn!(error = %e, "garbage collection failed");
            }
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = me.wake.notified() => {
                        // Let a burst of deletions settle into one collection.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    _ = tokio::time::sleep(period) => {}
                }
                if let Err(e) = me.collect().await {
                    tracing::warn!(error = %e, "garbage collection failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Exchange;
    use myproto::containerd::services::snapshots::v1::Kind;
    use myproto::containerd::types::Descriptor;

    struct Env {
        _t: tempfile::TempDir,
        store: Arc<Store>,
        cs: Arc<ContentStore>,
        sm: Arc<SnapshotManager>,
        gc: Arc<GarbageCollector>,
    }

    fn env() -> Env {
        let t = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&t.path().join("meta.redb")).unwrap());
        let cs = ContentStore::open(t.path(), store.clone(), Exchange::default()).unwrap();
        let sm = SnapshotManager::open(t.path(), store.clone(), Exchange::default()).unwrap();
        let gc = GarbageCollector::new(store.clone(), cs.clone(), sm.clone());
        Env {
            _t: t,
            store,
            cs,
            sm,
            gc,
        }
    }

    impl Env {
        fn blob(&self, ns: &str, data: &str, labels: &[(&str, &str)]) -> String {
            let mut w = self.cs.writer(ns, data, 0, "", None).unwrap();
            w.write(data.as_bytes()).unwrap();
            let labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            w.commit(0, "", labels).unwrap()
        }

        fn has(&self, ns: &str, d: &str) -> bool {
            self.cs.info(ns, d).is_ok()
        }

        fn snap(&self, ns: &str, key: &str, parent: &str, commit_as: Option<&str>) {
            let sn = "overlayfs";
            let k = commit_as
                .map(|_| format!("tmp-{key}"))
                .unwrap_or(key.to_string());
            self.sm
                .create(ns, sn, &k, parent, HashMap::new(), Kind::Active, None)
                .unwrap();
            if let Some(name) = commit_as {
                self.sm
                    .commit(ns, sn, name, &k, HashMap::new(), None)
                    .unwrap();
            }
        }

        fn has_snap(&self, ns: &str, key: &str) -> bool {
            self.sm.stat(ns, "overlayfs", key).is_ok()
        }

        fn image(&self, ns: &str, name: &str, target: &str) {
            self.store
                .create_image(
                    ns,
                    &Image {
                        name: name.into(),
                        target: Some(Descriptor {
                            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                            digest: target.into(),
                            size: 1,
                            annotations: HashMap::new(),
                        }),
                        ..Image::default()
                    },
                )
                .unwrap();
        }
    }

    #[test]
    fn images_keep_their_graph_and_the_rest_goes() {
        let e = env();
        e.snap("ns", "l1", "", Some("chain1"));
        e.snap("ns", "l2", "chain1", Some("chain2"));
        let layer = e.blob("ns", "layer", &[]);
        let config = e.blob(
            "ns",
            "config",
            &[("containerd.io/gc.ref.snapshot.overlayfs", "chain2")],
        );
        let manifest = e.blob(
            "ns",
            "manifest",
            &[
                ("containerd.io/gc.ref.content.config", &config),
                ("containerd.io/gc.ref.content.l.0", &layer),
            ],
        );
        let loose = e.blob("ns", "loose", &[]);
        let rooted = e.blob("ns", "rooted", &[(LABEL_ROOT, "x")]);
        e.snap("ns", "orphan-base", "", Some("orphan"));
        e.snap("ns", "orphan-child", "orphan", None);
        e.image("ns", "img", &manifest);
        // The same blob in another namespace, unreferenced there.
        let shared = e.blob("other", "layer", &[]);
        assert_eq!(shared, layer);

        let swept = e.gc.collect_blocking().unwrap();
        assert_eq!(swept.content, 2, "{swept:?}");
        assert_eq!(swept.snapshots, 2, "{swept:?}");
        assert_eq!(
            swept.blobs, 1,
            "only loose's file goes; layer is still in ns"
        );
        for d in [&layer, &config, &manifest, &rooted] {
            assert!(e.has("ns", d));
        }
        assert!(!e.has("ns", &loose) && !e.has("other", &layer));
        assert!(e.cs.blob_path(&layer).unwrap().exists());
        assert!(!e.cs.blob_path(&loose).unwrap().exists());
        assert!(e.has_snap("ns", "chain1") && e.has_snap("ns", "chain2"));
        assert!(!e.has_snap("ns", "orphan") && !e.has_snap("ns", "orphan-child"));
        assert_eq!(e.sm.backend("overlayfs").unwrap().ids().len(), 2);

        e.store.delete_image("ns", "img").unwrap();
        let swept = e.gc.collect_blocking().unwrap();
        assert_eq!(
            (swept.content, swept.snapshots, swept.blobs),
            (3, 2, 3),
            "{swept:?}"
        );
        assert!(e.has("ns", &rooted));
        assert!(e.sm.backend("overlayfs").unwrap().ids().is_empty());
    }

    #[test]
    fn leases_containers_and_expiry() {
        let e = env();
        let lease = |id: &str, labels: &[(&str, &str)]| Lease {
            id: id.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Lease::default()
        };
        e.store.create_lease("ns", &lease("live", &[])).unwrap();
        e.store
            .create_lease(
                "ns",
                &lease("old", &[(LABEL_EXPIRE, "2001-02-03T04:05:06Z")]),
            )
            .unwrap();
        e.store
            .create_lease(
                "ns",
                &lease("later", &[(LABEL_EXPIRE, "2999-01-01T00:00:00+02:00")]),
            )
            .unwrap();
        let a = e.blob("ns", "a", &[]);
        let b = e.blob("ns", "b", &[]);
        e.store
            .add_lease_resource("ns", "live", "content", &a)
            .unwrap();
        e.store
            .add_lease_resource("ns", "old", "content", &b)
            .unwrap();
        e.snap("ns", "leased", "", None);
        e.store
            .add_lease_resource("ns", "later", "snapshots/overlayfs", "leased")
            .unwrap();
        e.snap("ns", "rootfs-base", "", Some("base"));
        e.snap("ns", "ctr-snap", "base", None);
        e.store
            .create_container(
                "ns",
                &Container {
                    id: "c".into(),
                    snapshotter: "overlayfs".into(),
                    snapshot_key: "ctr-snap".into(),
                    ..Container::default()
                },
            )
            .unwrap();
        // An unleased write in progress keeps what it expects.
        let c = e.blob("ns", "c", &[]);
        let w = e.cs.writer("ns", "resume-me", 0, "", None).unwrap();
        drop(w);

        let swept = e.gc.collect_blocking().unwrap();
        assert_eq!(swept.leases, 1);
        assert!(e.has("ns", &a) && !e.has("ns", &b) && !e.has("ns", &c));
        assert!(
            e.has_snap("ns", "leased") && e.has_snap("ns", "base") && e.has_snap("ns", "ctr-snap")
        );
        assert_eq!(e.store.leases("ns").unwrap().len(), 2);
        assert!(e.cs.status("ns", "resume-me").is_ok());

        e.store.delete_container("ns", "c").unwrap();
        e.store.delete_lease("ns", "later").unwrap();
        e.gc.collect_blocking().unwrap();
        assert!(!e.has_snap("ns", "base") && !e.has_snap("ns", "leased"));
    }

    #[test]
    fn orphaned_blob_files_are_removed() {
        let e = env();
        let d = crate::digest::of(b"orphan");
        std::fs::write(e.cs.blob_path(&d).unwrap(), "orphan").unwrap();
        assert_eq!(e.gc.collect_blocking().unwrap().blobs, 1);
        assert!(!e.cs.blob_path(&d).unwrap().exists());
    }

    #[test]
    fn rfc3339() {
        let t = |s: &str| parse_rfc3339(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(t("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(t("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(t("2024-02-29T14:00:00+02:00"), Some(1_709_208_000));
        assert_eq!(
            t("2024-02-29T11:00:00.123456789-01:00"),
            Some(1_709_208_000)
        );
        for bad in [
            "",
            "2024-02-29",
            "2024-02-29T12:00:00",
            "2024-13-01T00:00:00Z",
            "x024-02-29T12:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_none(), "{bad}");
        }
    }
}
