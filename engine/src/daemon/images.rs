//! Images through the shared client library: lookup by name or ID, list, inspect, pull
//! with Docker's JSON progress messages, tag, remove, load, save, history, prune, and
//! the images' part of disk usage.

use std::collections::BTreeMap;
use std::path::Path;

use engine_api::filters::Filters;
use engine_api::images::{
    DeleteItem, HistoryItem, ImageInspect, ImageMetadata, ImagePruneResponse, ImageSummary,
    JsonMessage, ProgressDetail, RootFs,
};
use myimages::archive::{SaveImage, SavePlan};
use myimages::progress::{Kind, Status as PStatus};
use myimages::{Image, Platform, Progress, PullOptions, Reference, ResolvedImage};

use super::Daemon;
use crate::error::{Error, Result};

/// An image record and what it resolves to on this platform.
pub struct FoundImage {
    pub record: Image,
    pub resolved: ResolvedImage,
}

/// The name Docker shows (`busybox:latest`), or the stored name when it does not parse.
pub fn familiar(name: &str) -> String {
    Reference::parse(name)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| name.to_owned())
}

fn no_such_image(name: &str) -> Error {
    let shown = Reference::parse(name)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| name.to_owned());
    Error::NotFound(format!("No such image: {shown}"))
}

impl Daemon {
    /// The image `reference` names: a name (normalised as Docker does), else an ID or a
    /// unique ID prefix (`sha256:` optional).
    pub async fn find_image(&self, reference: &str) -> Result<FoundImage> {
        let platform = Platform::host();
        if let Ok(parsed) = Reference::parse(reference) {
            match self.images.get_image(&parsed.to_string()).await {
                Ok(record) => {
                    let resolved = self.images.resolve_record(&record, &platform).await?;
                    return Ok(FoundImage { record, resolved });
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut found: Option<FoundImage> = None;
            for record in self.images.list_images(&[]).await? {
                let Ok(resolved) = self.images.resolve_record(&record, &platform).await else {
                    continue;
                };
                let id = resolved.config_digest.to_string();
                if id.trim_start_matches("sha256:").starts_with(hex) {
                    match &found {
                        Some(f) if f.resolved.config_digest != resolved.config_digest => {
                            return Err(Error::BadParameter(format!(
                                "ambiguous image reference {reference}"
                            )));
                        }
                        Some(_) => {}
                        None => found = Some(FoundImage { record, resolved }),
                    }
                }
            }
            if let Some(f) = found {
                return Ok(f);
            }
        }
        Err(no_such_image(reference))
    }

    /// Every image resolved on this platform (records that do not resolve are skipped).
    async fn all_images(&self) -> Result<Vec<FoundImage>> {
        let platform = Platform::host();
        let mut out = Vec::new();
        for record in self.images.list_images(&[]).await? {
            match self.images.resolve_record(&record, &platform).await {
                Ok(resolved) => out.push(FoundImage { record, resolved }),
                Err(e) => tracing::debug!(image = %record.name, "not listed: {e}"),
            }
        }
        Ok(out)
    }

    /// `GET /images/json`: one entry per image ID with all its names.
    pub async fn list_images(&self) -> Result<Vec<ImageSummary>> {
        let mut by_id: BTreeMap<String, ImageSummary> = BTreeMap::new();
        let containers = self.all_containers();
        for f in self.all_images().await? {
            let id = f.resolved.config_digest.to_string();
            let entry = by_id.entry(id.clone()).or_insert_with(|| ImageSummary {
                id: id.clone(),
                created: created_unix(&f.resolved),
                size: image_size(&f.resolved),
                labels: f.resolved.runtime_config().labels,
                containers: containers
                    .iter()
                    .filter(|c| c.record().image_id == id)
                    .count() as i64,
                ..Default::default()
            });
            let name = familiar(&f.record.name);
            if !name.contains('@') {
                entry.repo_tags.push(name);
            }
            if let Ok(r) = Reference::parse(&f.record.name) {
                let digest = f
                    .record
                    .target
                    .as_ref()
                    .map(|t| t.digest.clone())
                    .unwrap_or_default();
                let familiar_name = r.familiar();
                let repo = familiar_name
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .rsplit_once(':')
                    .map_or(familiar_name.as_str(), |(repo, _)| repo)
                    .to_owned();
                let d = format!("{repo}@{digest}");
                if !entry.repo_digests.contains(&d) {
                    entry.repo_digests.push(d);
                }
            }
        }
        let mut list: Vec<ImageSummary> = by_id.into_values().collect();
        list.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    /// `GET /images/{name}/json`.
    pub async fn inspect_image(&self, reference: &str) -> Result<ImageInspect> {
        let f = self.find_image(reference).await?;
        let id = f.resolved.config_digest.to_string();
        let mut repo_tags = Vec::new();
        let mut repo_digests = Vec::new();
        for other in self.all_images().await? {
            if other.resolved.config_digest.to_string() == id {
                repo_tags.push(familiar(&other.record.name));
                if let (Ok(r), Some(t)) =
                    (Reference::parse(&other.record.name), &other.record.target)
                {
                    let fam = r.familiar();
                    let repo = fam.rsplit_once(':').map_or(fam.as_str(), |(a, _)| a);
                    repo_digests.push(format!("{repo}@{}", t.digest));
                }
            }
        }
        let rc = f.resolved.runtime_config();
        let config = engine_api::containers::Config {
            env: rc.env.clone(),
            cmd: (!rc.cmd.is_empty()).then(|| rc.cmd.clone()),
            entrypoint: (!rc.entrypoint.is_empty()).then(|| rc.entrypoint.clone()),
            working_dir: rc.working_dir.clone(),
            user: rc.user.clone(),
            labels: rc.labels.clone(),
            stop_signal: rc.stop_signal.clone().unwrap_or_default(),
            ..Default::default()
        };
        let platform = f.resolved.platform();
        Ok(ImageInspect {
            id,
            repo_tags,
            repo_digests,
            created: f
                .resolved
                .config
                .created()
                .clone()
                .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            config: Some(config),
            architecture: platform.architecture.clone(),
            variant: platform.variant.clone().unwrap_or_default(),
            os: platform.os.clone(),
            size: image_size(&f.resolved),
            graph_driver: engine_api::containers::GraphDriver {
                name: self.images.snapshotter().to_owned(),
                data: BTreeMap::new(),
            },
            root_fs: RootFs {
                kind: "layers".into(),
                layers: f
                    .resolved
                    .diff_ids
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            },
            metadata: ImageMetadata {
                last_tag_time: "0001-01-01T00:00:00Z".into(),
            },
            ..Default::default()
        })
    }

    /// `POST /images/create?fromImage=&tag=`: pulls, sending Docker's progress messages to
    /// `send`; errors after the response started go into the stream.
    pub async fn pull_image(
        &self,
        from_image: &str,
        tag: &str,
        credentials: Option<myimages::Credentials>,
        send: &(dyn Fn(JsonMessage) + Send + Sync),
    ) -> Result<()> {
        let text = if tag.is_empty() || from_image.contains('@') {
            from_image.to_owned()
        } else if tag.starts_with("sha256:") {
            format!("{from_image}@{tag}")
        } else {
            format!("{from_image}:{tag}")
        };
        let reference = Reference::parse(&text).map_err(|e| Error::BadParameter(e.to_string()))?;
        let shown_tag = reference
            .tag()
            .map(str::to_owned)
            .or_else(|| reference.digest().map(ToString::to_string))
            .unwrap_or_default();
        let before = self
            .images
            .get_image(&reference.to_string())
            .await
            .ok()
            .and_then(|i| i.target.map(|t| t.digest));
        send(JsonMessage::status(
            Some(&shown_tag),
            format!("Pulling from {}", familiar_path(&reference)),
        ));
        let options = PullOptions {
            registry: myimages::RegistryOptions {
                credentials,
                ..Default::default()
            },
            unpack: true,
            ..Default::default()
        };
        let on_progress = |p: &Progress| {
            if let Some(m) = progress_message(p) {
                send(m);
            }
        };
        let image = self
            .images
            .pull(&reference.to_string(), &options, &on_progress)
            .await?;
        let digest = image.target.map(|t| t.digest).unwrap_or_default();
        send(JsonMessage::status(None, format!("Digest: {digest}")));
        let status = if before.as_deref() == Some(digest.as_str()) {
            format!("Status: Image is up to date for {}", reference.familiar())
        } else {
            format!(
                "Status: Downloaded newer image for {}",
                reference.familiar()
            )
        };
        send(JsonMessage::status(None, status));
        self.image_event(&reference.familiar(), &reference.familiar(), "pull");
        Ok(())
    }

    /// `POST /images/{name}/tag?repo=&tag=`.
    pub async fn tag_image(&self, source: &str, repo: &str, tag: &str) -> Result<()> {
        let found = self.find_image(source).await?;
        let text = if tag.is_empty() {
            repo.to_owned()
        } else {
            format!("{repo}:{tag}")
        };
        let target = Reference::parse(&text).map_err(|e| Error::BadParameter(e.to_string()))?;
        if target.digest().is_some() {
            return Err(Error::BadParameter(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        self.images
            .tag_image(&found.record.name, &target.to_string(), true)
            .await?;
        self.image_event(
            &found.resolved.config_digest.to_string(),
            &target.familiar(),
            "tag",
        );
        Ok(())
    }

    /// `DELETE /images/{name}`.
    pub async fn remove_image(&self, reference: &str, force: bool) -> Result<Vec<DeleteItem>> {
        let found = self.find_image(reference).await?;
        let id = found.resolved.config_digest.to_string();
        let by_name = Reference::parse(reference)
            .map(|r| r.to_string() == found.record.name)
            .unwrap_or(false);
        let all = self.all_images().await?;
        let names: Vec<String> = all
            .iter()
            .filter(|f| f.resolved.config_digest.to_string() == id)
            .map(|f| f.record.name.clone())
            .collect();
        // Removing one of several names only untags; otherwise the image goes.
        let doomed: Vec<String> = if by_name && names.len() > 1 {
            vec![found.record.name.clone()]
        } else {
            names.clone()
        };
        let last = doomed.len() == names.len();
        if last
            && !force
            && let Some(c) = self
                .all_containers()
                .into_iter()
                .find(|c| c.record().image_id == id)
        {
            {
                let what = if by_name {
                    format!("unable to remove repository reference \"{reference}\" (must force)")
                } else {
                    format!("unable to delete {} (must be forced)", short(&id))
                };
                return Err(Error::Conflict(format!(
                    "conflict: {what} - container {} is using its referenced image {}",
                    short(&c.id),
                    short(&id)
                )));
            }
        }
        if !by_name && names.len() > 1 && !force {
            return Err(Error::Conflict(format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                short(&id)
            )));
        }
        let mut out = Vec::new();
        for name in &doomed {
            self.images.delete_image(name, last).await?;
            self.image_event(&id, &id, "untag");
            out.push(DeleteItem {
                untagged: Some(familiar(name)),
                deleted: None,
            });
        }
        if last {
            self.image_event(&id, &id, "delete");
            out.push(DeleteItem {
                untagged: None,
                deleted: Some(id),
            });
        }
        Ok(out)
    }

    /// `POST /images/load`: imports the tarball at `path` (docker-archive or OCI),
    /// unpacked; returns the names loaded.
    pub async fn load_images(&self, path: &Path) -> Result<Vec<String>> {
        let options = myimages::ImportOptions {
            base_name: None,
            platform: Platform::host(),
            unpack: true,
        };
        let images = self.images.import(path, &options, &|_| {}).await?;
        images
            .iter()
            .for_each(|i| self.image_event(&familiar(&i.name), &familiar(&i.name), "load"));
        Ok(images.iter().map(|i| familiar(&i.name)).collect())
    }
}

impl Daemon {
    /// `GET /images/{name}/history`: the config's history, newest first. Entries that
    /// made a layer carry its size; only the top entry carries the image ID and tags
    /// (its ancestors are not images here, so Docker shows them as `<missing>`).
    pub async fn image_history(&self, reference: &str) -> Result<Vec<HistoryItem>> {
        let f = self.find_image(reference).await?;
        let id = f.resolved.config_digest.to_string();
        let tags = self.image_tags(&id).await?;
        let mut layer_sizes = Vec::new();
        for (i, layer) in f.resolved.layers().iter().enumerate() {
            layer_sizes.push(self.layer_size(&f.resolved, i, layer.size() as i64).await);
        }
        let mut items = Vec::new();
        let mut next_layer = 0;
        match f.resolved.config.history() {
            Some(history) if !history.is_empty() => {
                for h in history {
                    let size = if h.empty_layer().unwrap_or(false) {
                        0
                    } else {
                        next_layer += 1;
                        layer_sizes.get(next_layer - 1).copied().unwrap_or(0)
                    };
                    items.push(HistoryItem {
                        id: "<missing>".into(),
                        created: unix(h.created().as_deref()),
                        created_by: h.created_by().clone().unwrap_or_default(),
                        tags: Vec::new(),
                        size,
                        comment: h.comment().clone().unwrap_or_default(),
                    });
                }
            }
            // No history: one entry per layer, as Docker shows such images.
            _ => {
                let created = created_unix(&f.resolved);
                items.extend(layer_sizes.iter().map(|size| HistoryItem {
                    id: "<missing>".into(),
                    created,
                    size: *size,
                    ..Default::default()
                }));
            }
        }
        if items.is_empty() {
            items.push(HistoryItem {
                created: created_unix(&f.resolved),
                ..Default::default()
            });
        }
        items.reverse();
        items[0].id = id;
        items[0].tags = tags;
        Ok(items)
    }

    /// The familiar tags of image `id` (digest-only names are not tags).
    async fn image_tags(&self, id: &str) -> Result<Vec<String>> {
        let mut tags: Vec<String> = self
            .all_images()
            .await?
            .iter()
            .filter(|o| o.resolved.config_digest.to_string() == id)
            .map(|o| familiar(&o.record.name))
            .filter(|n| !n.contains('@'))
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    /// A layer's size on disk: its snapshot's usage once unpacked, else the size of
    /// its (compressed) blob.
    async fn layer_size(&self, image: &ResolvedImage, index: usize, blob_size: i64) -> i64 {
        let Some(chain_id) = image.chain_ids.get(index) else {
            return blob_size;
        };
        match self.images.snapshot_usage(chain_id.as_str()).await {
            Ok(u) if u.size > 0 => u.size,
            _ => blob_size,
        }
    }

    /// `GET /images/{name}/get` and `GET /images/get?names=`: finds every image (a
    /// missing one is a 404 before anything is sent), then reads every layer once to
    /// plan the archive. Images named by ID are saved without names; a
    /// repository alone saves every tag of it.
    pub async fn plan_save(&self, references: &[String]) -> Result<SavePlan> {
        if references.is_empty() {
            return Err(Error::BadParameter("no image names given".into()));
        }
        let mut images: Vec<SaveImage> = Vec::new();
        let mut add = |f: FoundImage, named: bool| {
            let id = f.resolved.config_digest.clone();
            let i = match images.iter().position(|i| i.resolved.config_digest == id) {
                Some(i) => i,
                None => {
                    images.push(SaveImage {
                        resolved: f.resolved,
                        names: Vec::new(),
                    });
                    images.len() - 1
                }
            };
            if named && !images[i].names.contains(&f.record.name) {
                images[i].names.push(f.record.name);
            }
        };
        for reference in references {
            // A repository alone (`busybox`) means every tag of it, as with Docker.
            let tags = self.repository_tags(reference).await?;
            if !tags.is_empty() {
                for f in tags {
                    add(f, true);
                }
                continue;
            }
            let f = self.find_image(reference).await?;
            let by_name = Reference::parse(reference)
                .map(|r| r.to_string() == f.record.name)
                .unwrap_or(false);
            add(f, by_name);
        }
        Ok(self.images.plan_save(&images).await?)
    }

    /// The tagged images of repository `text` when it names a repository alone (no tag,
    /// no digest); none otherwise.
    async fn repository_tags(&self, text: &str) -> Result<Vec<FoundImage>> {
        let last = text.rsplit('/').next().unwrap_or(text);
        if text.contains('@') || last.contains(':') {
            return Ok(Vec::new());
        }
        let Ok(repo) = Reference::parse(text).map(|r| r.name()) else {
            return Ok(Vec::new());
        };
        Ok(self
            .all_images()
            .await?
            .into_iter()
            .filter(|f| {
                Reference::parse(&f.record.name)
                    .is_ok_and(|r| r.name() == repo && r.tag().is_some() && r.digest().is_none())
            })
            .collect())
    }

    /// Streams a planned save to `out`.
    pub async fn write_save<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        plan: &SavePlan,
        out: &mut W,
    ) -> Result<()> {
        Ok(self.images.write_save(plan, out).await?)
    }

    /// `POST /images/prune`: by default images without tags; with `dangling=false`
    /// every image no container uses. `until` and `label`/`label!` narrow it. An image a
    /// container (of any state) uses is never pruned.
    pub async fn prune_images(&self, filters: &Filters) -> Result<ImagePruneResponse> {
        filters
            .validate(&["dangling", "until", "label", "label!"])
            .map_err(Error::BadParameter)?;
        let dangling_only = match filters.get("dangling").collect::<Vec<_>>().as_slice() {
            [] => true,
            [v] if matches!(*v, "1" | "true") => true,
            [v] if matches!(*v, "0" | "false") => false,
            values => {
                return Err(Error::BadParameter(format!(
                    "invalid filter 'dangling=[{}]'",
                    values.join(" ")
                )));
            }
        };
        let mut until = Vec::new();
        for u in filters.get("until") {
            until.push(parse_until(u)?);
        }
        let in_use: std::collections::BTreeSet<String> = self
            .all_containers()
            .iter()
            .map(|c| c.record().image_id)
            .collect();
        // Every record, grouped by image ID.
        let mut by_id: BTreeMap<String, Vec<FoundImage>> = BTreeMap::new();
        for f in self.all_images().await? {
            by_id
                .entry(f.resolved.config_digest.to_string())
                .or_default()
                .push(f);
        }
        let mut doomed = Vec::new();
        for (id, records) in &by_id {
            let first = &records[0].resolved;
            let tagged = records
                .iter()
                .any(|f| !familiar(&f.record.name).contains('@'));
            let labels = first.runtime_config().labels;
            let created = created_unix(first);
            let keep = in_use.contains(id)
                || (dangling_only && tagged)
                || !filters.matches_labels(&labels)
                || filters.get("label!").any(|l| match l.split_once('=') {
                    Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
                    None => labels.contains_key(l),
                })
                || until.iter().any(|u| created >= *u);
            if !keep {
                doomed.push(id.clone());
            }
        }
        // Space is reclaimed for the blobs no kept image shares.
        let mut kept_blobs = std::collections::BTreeSet::new();
        for (id, records) in &by_id {
            if !doomed.contains(id) {
                for f in records {
                    kept_blobs.extend(f.resolved.blobs().into_iter().map(|b| b.digest));
                }
            }
        }
        let mut freed: BTreeMap<String, i64> = BTreeMap::new();
        let mut response = ImagePruneResponse::default();
        for id in &doomed {
            let records = &by_id[id];
            let mut failed = false;
            for f in records {
                let last = f.record.name == records[records.len() - 1].record.name;
                if let Err(e) = self.images.delete_image(&f.record.name, last).await {
                    tracing::warn!(image = %f.record.name, "prune: {e}");
                    failed = true;
                    continue;
                }
                let name = familiar(&f.record.name);
                self.events.publish(
                    "image",
                    "untag",
                    id,
                    BTreeMap::from([("name".to_owned(), name.clone())]),
                );
                response.images_deleted.push(DeleteItem {
                    untagged: Some(name),
                    deleted: None,
                });
            }
            if failed {
                continue;
            }
            for b in records[0].resolved.blobs() {
                if !kept_blobs.contains(&b.digest) {
                    freed.insert(b.digest, b.size);
                }
            }
            self.events.publish(
                "image",
                "delete",
                id,
                BTreeMap::from([("name".to_owned(), id.clone())]),
            );
            response.images_deleted.push(DeleteItem {
                untagged: None,
                deleted: Some(id.clone()),
            });
        }
        response.space_reclaimed = freed.values().map(|s| (*s).max(0) as u64).sum();
        Ok(response)
    }

    /// The images part of `GET /system/df`: every image with its container count and
    /// the bytes it shares with other images, and the size of all distinct layers.
    pub async fn image_disk_usage(&self) -> Result<(i64, Vec<ImageSummary>)> {
        let mut list = self.list_images().await?;
        let mut layers_of: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        for f in self.all_images().await? {
            layers_of
                .entry(f.resolved.config_digest.to_string())
                .or_insert_with(|| {
                    f.resolved
                        .layers()
                        .iter()
                        .map(|l| (l.digest().to_string(), l.size() as i64))
                        .collect()
                });
        }
        let mut users: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
        for layers in layers_of.values() {
            for (digest, size) in layers {
                users.entry(digest).or_insert((*size, 0)).1 += 1;
            }
        }
        let layers_size = users.values().map(|(size, _)| size).sum();
        for image in &mut list {
            image.shared_size = layers_of
                .get(&image.id)
                .map(|layers| {
                    layers
                        .iter()
                        .filter(|(d, _)| users.get(d.as_str()).is_some_and(|(_, n)| *n > 1))
                        .map(|(_, s)| s)
                        .sum()
                })
                .unwrap_or(0);
        }
        Ok((layers_size, list))
    }
}

/// Unix seconds of an RFC 3339 time; 0 when absent or malformed.
fn unix(time: Option<&str>) -> i64 {
    time.and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

/// An `until` filter as Unix seconds: a Go duration before now (`24h`, `1h30m`,
/// `90s`), Unix seconds (fractions allowed), RFC 3339, or a date.
fn parse_until(text: &str) -> Result<i64> {
    let bad = || Error::BadParameter(format!("invalid filter 'until={text}'"));
    if let Some(d) = go_duration(text) {
        return Ok(chrono::Utc::now().timestamp() - d);
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Ok(secs as i64);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp())
            .ok_or_else(bad);
    }
    Err(bad())
}

/// Seconds in a Go duration made of `h`, `m`, `s` parts; None if it is not one.
fn go_duration(text: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut number = String::new();
    let mut parts = 0;
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += number.parse::<f64>().ok()? * unit;
        number.clear();
        parts += 1;
    }
    (number.is_empty() && parts > 0).then_some(total as i64)
}

/// The repository as Docker's "Pulling from" line shows it: its path in the registry,
/// without the registry (`library/busybox`; `team/app` for `127.0.0.1:5000/team/app`).
fn familiar_path(r: &Reference) -> &str {
    r.path()
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn created_unix(image: &ResolvedImage) -> i64 {
    image
        .config
        .created()
        .as_deref()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

fn image_size(image: &ResolvedImage) -> i64 {
    image.layers().iter().map(|l| l.size() as i64).sum()
}

/// Docker's per-layer progress lines from the library's events.
fn progress_message(p: &Progress) -> Option<JsonMessage> {
    let id =
        p.id.trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect::<String>();
    let detail = |current: u64, total: u64| ProgressDetail {
        current: Some(current as i64),
        total: Some(total as i64),
    };
    match (p.kind, p.status) {
        (Kind::Layer, PStatus::Waiting) => Some(JsonMessage::status(Some(&id), "Waiting")),
        (Kind::Layer, PStatus::Exists) => Some(JsonMessage::status(Some(&id), "Already exists")),
        (Kind::Layer, PStatus::Downloading) => {
            let mut m = JsonMessage::status(Some(&id), "Downloading");
            m.progress_detail = Some(detail(p.done, p.total));
            m.progress = Some(progress_bar(p.done, p.total));
            Some(m)
        }
        (Kind::Layer, PStatus::Done) => Some(JsonMessage::status(Some(&id), "Download complete")),
        (Kind::Unpack, PStatus::Unpacking) => {
            let mut m = JsonMessage::status(Some(&id), "Extracting");
            m.progress_detail = Some(detail(0, p.total));
            Some(m)
        }
        (Kind::Unpack, PStatus::Done) => Some(JsonMessage::status(Some(&id), "Pull complete")),
        _ => None,
    }
}

/// `[=====>     ]  1.2MB/2.4MB`, as Docker's progress field.
fn progress_bar(done: u64, total: u64) -> String {
    let width = 50u64;
    let filled = (done.min(total) * width).checked_div(total).unwrap_or(0);
    let mut bar = "=".repeat(filled as usize);
    if filled < width {
        bar.push('>');
        bar.push_str(&" ".repeat((width - filled - 1) as usize));
    }
    format!("[{bar}] {}/{}", human(done), human(total))
}

fn human(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", units[i])
    }
}

/// The credentials of an `X-Registry-Auth` header (base64url JSON with
/// `username`/`password`); None when absent or empty.
pub fn registry_auth(header: &str) -> Option<myimages::Credentials> {
    let bytes = base64_decode(header.trim())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let username = v["username"].as_str().unwrap_or_default().to_owned();
    let password = v["password"].as_str().unwrap_or_default().to_owned();
    (!username.is_empty()).then_some(myimages::Credentials { username, password })
}

/// Standard or URL-safe base64, padding optional.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_header_decodes() {
        // {"username":"u","password":"p"}
        let c = registry_auth("eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ==").unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p"));
        assert!(registry_auth("e30=").is_none());
        assert!(registry_auth("!!").is_none());
    }

    #[test]
    fn names_are_familiar() {
        assert_eq!(
            familiar("docker.io/library/busybox:latest"),
            "busybox:latest"
        );
        assert_eq!(familiar("127.0.0.1:5000/a/b:t"), "127.0.0.1:5000/a/b:t");
        assert!(progress_bar(5, 10).starts_with("[====="));
    }

    #[test]
    fn until_takes_durations_timestamps_and_dates() {
        assert_eq!(go_duration("1h30m"), Some(5400));
        assert_eq!(go_duration("90s"), Some(90));
        assert_eq!(go_duration("10"), None);
        assert_eq!(go_duration("5d"), None);
        let now = chrono::Utc::now().timestamp();
        assert!((parse_until("24h").unwrap() - (now - 86400)).abs() < 5);
        assert_eq!(parse_until("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_until("1970-01-02").unwrap(), 86400);
        assert_eq!(parse_until("1970-01-01T00:01:00Z").unwrap(), 60);
        assert_eq!(parse_until("soon").unwrap_err().status(), 400);
    }

    #[test]
    fn pulling_from_names_the_repository_without_its_registry() {
        let r = |s: &str| s.parse::<Reference>().unwrap();
        assert_eq!(familiar_path(&r("busybox")), "library/busybox");
        assert_eq!(familiar_path(&r("127.0.0.1:5000/busybox")), "busybox");
        assert_eq!(familiar_path(&r("example.com/team/app:v1")), "team/app");
    }
}
