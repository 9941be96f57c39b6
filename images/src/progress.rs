//! What a pull, an import or an unpack reports while it runs, one event per change.

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The reference being resolved to its top descriptor.
    Reference,
    Index,
    Manifest,
    Config,
    Layer,
    /// Applying a layer to a snapshot.
    Unpack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Resolving,
    Resolved,
    /// Known, not started (waiting for a download slot).
    Waiting,
    Downloading,
    /// Already in the content store (or, for `Unpack`, already a snapshot).
    Exists,
    Done,
    Unpacking,
}

impl Status {
    /// ctr's words.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Resolving => "resolving",
            Status::Resolved => "resolved",
            Status::Waiting => "waiting",
            Status::Downloading => "downloading",
            Status::Exists => "exists",
            Status::Done => "done",
            Status::Unpacking => "unpacking",
        }
    }
}

/// One event: for a blob, its digest, size and how much of it is in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub kind: Kind,
    /// The reference (for `Kind::Reference`) or the blob's digest.
    pub id: String,
    pub total: u64,
    pub done: u64,
    pub status: Status,
}

impl Progress {
    /// The name ctr shows for it: the reference, or `layer-sha256:...`.
    pub fn key(&self) -> String {
        let prefix = match self.kind {
            Kind::Reference => return self.id.clone(),
            Kind::Index => "index",
            Kind::Manifest => "manifest",
            Kind::Config => "config",
            Kind::Layer => "layer",
            Kind::Unpack => "unpack",
        };
        format!("{prefix}-{}", self.id)
    }
}

/// Where events go. `&|_| {}` ignores them.
pub type ProgressFn<'a> = &'a (dyn Fn(&Progress) + Send + Sync);
