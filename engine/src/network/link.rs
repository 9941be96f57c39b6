//! Links, addresses and routes over rtnetlink: the bridge, the veth pair that plugs a
//! container's network namespace into it, and what the container sees on its end.
//!
//! Everything goes through netlink sockets (`rtnetlink`), never through the `ip` program:
//! no process per operation, errors arrive as errnos, and it works where iproute2 is absent.
//! A netlink socket talks to the network namespace of the thread that opened it, so
//! [`Links`] holds one opened in the host namespace, and the steps inside a container's
//! namespace open their own socket on a thread that has entered it (see [`super::netns`]).

use std::fs::File;
use std::future::Future;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage,
};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteHeader};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};

use super::netns;

/// Longest interface name the kernel takes: `IFNAMSIZ` (16) less the terminating NUL.
pub const MAX_IFNAME_LEN: usize = 15;

/// The first two bytes of the MAC addresses [`mac_for`] makes: locally administered and
/// unicast (`0x02`), and `0x4d` where Docker uses `0x42`, so that a container of ours and
/// one of Docker's with the same IP address never share a MAC address.
const MAC_PREFIX: [u8; 2] = [0x02, 0x4d];

/// What can go wrong with links, addresses and routes. Each variant says which link or
/// namespace and which step; [`LinkError::errno`] gives the kernel's errno when there is one.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A name the kernel would refuse (it says only `EINVAL`, this says why).
    #[error("invalid interface name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    /// An IPv4 prefix longer than 32 bits.
    #[error("invalid IPv4 prefix length /{0}: at most 32")]
    InvalidPrefix(u8),
    /// A link the operation needs does not exist.
    #[error("{what} {name} does not exist")]
    NotFound { what: &'static str, name: String },
    /// A link with the bridge's name exists but is something else; it is left alone.
    #[error("link {name} exists but is not a bridge (kind: {kind})")]
    NotABridge { name: String, kind: String },
    /// The netlink socket could not be opened.
    #[error("opening a netlink socket: {0}")]
    Socket(#[source] io::Error),
    /// The kernel (or the netlink connection) refused a request.
    #[error("{op}: {}", describe(.source))]
    Netlink {
        op: String,
        #[source]
        source: rtnetlink::Error,
    },
    /// A network namespace could not be opened or entered.
    #[error("{op} {}: {source}", .path.display())]
    Namespace {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The single-threaded runtime that drives netlink inside a namespace did not start.
    #[error("starting a runtime for netlink inside a network namespace: {0}")]
    Runtime(#[source] io::Error),
    /// The blocking task that worked inside a namespace was cancelled.
    #[error("the task inside the network namespace did not finish: {0}")]
    Join(#[source] tokio::task::JoinError),
}

impl LinkError {
    /// The errno behind the error, when the kernel gave one (`EEXIST`, `ENODEV`, ...),
    /// for callers that map errors to their own kinds.
    pub fn errno(&self) -> Option<i32> {
        match self {
            LinkError::Netlink {
                source: rtnetlink::Error::NetlinkError(msg),
                ..
            } => msg.code.map(|c| c.get().abs()),
            LinkError::Socket(e) | LinkError::Namespace { source: e, .. } => e.raw_os_error(),
            _ => None,
        }
    }
}

/// The kernel's refusals read as errno text ("File exists (os error 17)"); the library's
/// own Display wraps them in a sentence that adds nothing.
fn describe(e: &rtnetlink::Error) -> String {
    match e {
        rtnetlink::Error::NetlinkError(msg) => msg.to_io().to_string(),
        other => other.to_string(),
    }
}

pub type Result<T, E = LinkError> = std::result::Result<T, E>;

/// Wraps a netlink failure with the step that failed.
fn nl(op: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> LinkError {
    let op = op.into();
    move |source| LinkError::Netlink { op, source }
}

fn is_errno(e: &rtnetlink::Error, errno: i32) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(msg) if msg.code.is_some_and(|c| c.get().abs() == errno))
}

/// Checks a name the way the kernel's `dev_valid_name` does, so a bad name is reported
/// with its reason instead of a bare `EINVAL` (or, worse, truncated by someone).
pub fn validate_ifname(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > MAX_IFNAME_LEN {
        "longer than 15 bytes (IFNAMSIZ is 16)"
    } else if name == "." || name == ".." {
        "reserved"
    } else if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
    {
        "contains '/', ':', a NUL or whitespace"
    } else {
        return Ok(());
    };
    Err(LinkError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

fn validate_prefix(prefix_len: u8) -> Result<()> {
    if prefix_len > 32 {
        return Err(LinkError::InvalidPrefix(prefix_len));
    }
    Ok(())
}

/// The MAC address of the interface holding `ip`: `02:4d` followed by the address's four
/// bytes. Derived from the IP (as Docker does with `02:42`) so that a container that comes
/// back with the same address keeps its MAC and neighbours' ARP caches stay right; `02:4d`
/// keeps ours distinct from Docker's.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [MAC_PREFIX[0], MAC_PREFIX[1], a, b, c, d]
}

/// One container's connection to a bridge, as [`Links::attach`] makes it.
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    /// The bridge (host namespace) the host end joins; it must exist.
    pub bridge: &'a str,
    /// The host end of the veth pair; stays in the host namespace.
    pub host_ifname: &'a str,
    /// The container's network namespace (a file [`netns::create`] mounted).
    pub netns: &'a Path,
    /// The container end's final name inside the namespace (`eth0`).
    pub ifname: &'a str,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// The default route's next hop (the bridge's address); `None` adds no default route.
    pub gateway: Option<Ipv4Addr>,
    /// The container end's MAC address; [`mac_for`] makes the usual one.
    pub mac: [u8; 6],
    /// Set on both ends, so the container never sends frames the bridge would drop.
    pub mtu: u32,
}

/// Link operations in the host network namespace, over one netlink connection whose task
/// runs on the tokio runtime that called [`connect`]. Cloning shares the connection.
#[derive(Clone, Debug)]
pub struct Links {
    handle: Handle,
}

/// Opens a netlink connection in the calling thread's network namespace (the host's, as
/// no tokio worker ever changes namespace) and spawns its task on the current runtime.
pub async fn connect() -> Result<Links> {
    let (connection, handle, _) = rtnetlink::new_connection().map_err(LinkError::Socket)?;
    tokio::spawn(connection);
    Ok(Links { handle })
}

impl Links {
    /// Makes sure the bridge `name` exists, has `mtu`, holds `gateway/prefix_len` and is up.
    ///
    /// Idempotent, so the engine calls it at every start: a missing bridge is created,
    /// other addresses on an existing bridge are left alone, and a link of that name that
    /// is not a bridge is refused rather than reconfigured. A new bridge gets the fixed MAC
    /// address [`mac_for`]`(gateway)`: a bridge with a kernel-chosen MAC takes the lowest MAC
    /// of its ports, so the gateway's MAC would change as containers come and go and their
    /// ARP caches would point at a stale address.
    pub async fn ensure_bridge(
        &self,
        name: &str,
        gateway: Ipv4Addr,
        prefix_len: u8,
        mtu: u32,
    ) -> Result<()> {
        validate_ifname(name)?;
        validate_prefix(prefix_len)?;
        let link = match self.find(name).await? {
            Some(link) => link,
            None => {
                let created = self
                    .handle
                    .link()
                    .add(
                        LinkBridge::new(name)
                            .mtu(mtu)
                            .address(mac_for(gateway).to_vec())
                            .build(),
                    )
                    .execute()
                    .await;
                match created {
                    Ok(()) => tracing::info!(bridge = name, "created bridge"),
                    // Another caller created it meanwhile: configure it all the same.
                    Err(e) if is_errno(&e, libc::EEXIST) => {}
                    Err(e) => return Err(nl(format!("creating bridge {name}"))(e)),
                }
                self.find(name).await?.ok_or_else(|| LinkError::NotFound {
                    what: "bridge",
                    name: name.to_owned(),
                })?
            }
        };
        let kind = link_kind(&link);
        if kind != Some(&InfoKind::Bridge) {
            return Err(LinkError::NotABridge {
                name: name.to_owned(),
                kind: kind.map_or_else(|| "none".to_owned(), |k| k.to_string()),
            });
        }
        let index = link.header.index;

        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).mtu(mtu).build())
            .execute()
            .await
            .map_err(nl(format!("setting the mtu of bridge {name} to {mtu}")))?;

        if !self.has_ipv4(index, gateway, prefix_len).await? {
            match self
                .handle
                .address()
                .add(index, gateway.into(), prefix_len)
                .execute()
                .await
            {
                Ok(()) => {}
                // Added meanwhile by a concurrent call.
                Err(e) if is_errno(&e, libc::EEXIST) => {}
                Err(e) => {
                    return Err(nl(format!(
                        "adding {gateway}/{prefix_len} to bridge {name}"
                    ))(e));
                }
            }
        }

        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(nl(format!("setting bridge {name} up")))
    }

    /// Whether a host link called `name` exists.
    pub async fn link_exists(&self, name: &str) -> Result<bool> {
        validate_ifname(name)?;
        Ok(self.find(name).await?.is_some())
    }

    /// Names of the host links whose name starts with `prefix`, to find links that a
    /// crashed engine left behind. An empty prefix lists every link.
    pub async fn links_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let mut links = self.handle.link().get().execute();
        let mut names = Vec::new();
        while let Some(link) = links.try_next().await.map_err(nl("listing links"))? {
            if let Some(name) = link_name(&link)
                && name.starts_with(prefix)
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Deletes the host link `name` (for a veth, both ends go, wherever the peer is).
    /// A missing link is not an error: clean-up runs again after crashes.
    pub async fn delete_link(&self, name: &str) -> Result<()> {
        validate_ifname(name)?;
        let Some(link) = self.find(name).await? else {
            return Ok(());
        };
        match self.handle.link().del(link.header.index).execute().await {
            Ok(()) => {
                tracing::debug!(link = name, "deleted link");
                Ok(())
            }
            // Gone between the lookup and the delete.
            Err(e) if is_errno(&e, libc::ENODEV) => Ok(()),
            Err(e) => Err(nl(format!("deleting link {name}"))(e)),
        }
    }

    /// Plugs the namespace `a.netns` into the bridge `a.bridge` with a veth pair.
    ///
    /// One request in the host namespace creates the pair: the host end `host_ifname`
    /// enslaved to the bridge and up, the container end born inside the namespace (by file
    /// descriptor) already named `ifname`, with its MAC and MTU. Creating the end in
    /// place, rather than moving it there, spares the kernel a device move (an RCU grace
    /// period, tens of milliseconds). Inside the namespace, on a thread that entered it
    /// with its own netlink socket, the end is set up (the kernel cannot open a veth end
    /// while creating it: its peer is not attached yet) and the address and (with a
    /// gateway) the default route are added.
    ///
    /// All or nothing: once the pair exists, any failure deletes `host_ifname` (which takes
    /// the peer with it) before the error is returned. Names are the caller's to make
    /// unique; calls for different containers can run concurrently.
    pub async fn attach(&self, a: &Attachment<'_>) -> Result<()> {
        for name in [a.bridge, a.host_ifname, a.ifname] {
            validate_ifname(name)?;
        }
        validate_prefix(a.prefix_len)?;
        // Checked before anything is created, so the common mistakes leave nothing to undo.
        let bridge = self
            .find(a.bridge)
            .await?
            .ok_or_else(|| LinkError::NotFound {
                what: "bridge",
                name: a.bridge.to_owned(),
            })?;
        let ns = open_netns(a.netns)?;

        let peer = LinkUnspec::new_with_name(a.ifname)
            .mtu(a.mtu)
            .address(a.mac.to_vec())
            .setns_by_fd(ns.as_raw_fd())
            .build();
        self.handle
            .link()
            .add(
                LinkVeth::new(a.host_ifname, a.ifname)
                    .mtu(a.mtu)
                    .controller(bridge.header.index)
                    .up()
                    .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
                    .build(),
            )
            // An EEXIST here is someone else's link: return before the clean-up below
            // could delete it.
            .execute()
            .await
            .map_err(nl(format!(
                "creating veth pair {} <-> {} in {}",
                a.host_ifname,
                a.ifname,
                a.netns.display()
            )))?;

        let result = self.configure_inside(a).await;
        if result.is_err()
            && let Err(e) = self.delete_link(a.host_ifname).await
        {
            tracing::warn!(link = a.host_ifname, error = %e, "deleting the veth of a failed attach");
        }
        result
    }

    /// The address and route of the container end, from inside its namespace.
    async fn configure_inside(&self, a: &Attachment<'_>) -> Result<()> {
        let inside = Inside {
            ifname: a.ifname.to_owned(),
            address: a.address,
            prefix_len: a.prefix_len,
            gateway: a.gateway,
            netns: a.netns.to_path_buf(),
        };
        let path = a.netns.to_path_buf();
        tokio::task::spawn_blocking(move || {
            netns::run_in(&path, move || {
                with_thread_netlink(|handle| inside.configure(handle))
            })
            .map_err(|source| LinkError::Namespace {
                op: "entering network namespace",
                path,
                source,
            })?
        })
        .await
        .map_err(LinkError::Join)?
    }

    /// Destination and prefix length of every IPv4 route in the host's main table (the
    /// default route is `(0.0.0.0, 0)`), sorted, without duplicates: what a new bridge's
    /// subnet must not overlap.
    pub async fn ipv4_routes(&self) -> Result<Vec<(Ipv4Addr, u8)>> {
        let query = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let mut routes = self.handle.route().get(query).execute();
        let mut out = Vec::new();
        while let Some(route) = routes.try_next().await.map_err(nl("listing IPv4 routes"))? {
            if route.header.address_family != AddressFamily::Inet {
                continue;
            }
            // Table ids above 255 travel only in the attribute; the header then says 252.
            let table = route
                .attributes
                .iter()
                .find_map(|attr| match attr {
                    RouteAttribute::Table(t) => Some(*t),
                    _ => None,
                })
                .unwrap_or(u32::from(route.header.table));
            if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
                continue;
            }
            let destination = route
                .attributes
                .iter()
                .find_map(|attr| match attr {
                    RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
                    _ => None,
                })
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            out.push((destination, route.header.destination_prefix_length));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The link called `name`, or `None` when there is none.
    async fn find(&self, name: &str) -> Result<Option<LinkMessage>> {
        find_link(&self.handle, name).await
    }

    /// Whether the link `index` holds `address/prefix_len`.
    async fn has_ipv4(&self, index: u32, address: Ipv4Addr, prefix_len: u8) -> Result<bool> {
        let mut addresses = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        while let Some(msg) = addresses
            .try_next()
            .await
            .map_err(nl("listing addresses"))?
        {
            // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on
            // point-to-point links).
            let matches = msg.header.prefix_len == prefix_len
                && msg
                    .attributes
                    .iter()
                    .any(|attr| matches!(attr, AddressAttribute::Local(ip) if *ip == address));
            if matches {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// What [`Links::attach`] does inside the namespace, owned so it can move to the thread
/// that entered it.
struct Inside {
    ifname: String,
    address: Ipv4Addr,
    prefix_len: u8,
    gateway: Option<Ipv4Addr>,
    netns: PathBuf,
}

impl Inside {
    async fn configure(self, handle: Handle) -> Result<()> {
        let ns = self.netns.display();
        let link = find_link(&handle, &self.ifname)
            .await?
            .ok_or_else(|| LinkError::NotFound {
                what: "veth end in the namespace",
                name: self.ifname.clone(),
            })?;
        let index = link.header.index;
        // Up before the route: IPv4 installs the subnet's route (which the gateway is
        // reached through) only once the link is up.
        handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(nl(format!("setting {} up in {ns}", self.ifname)))?;
        handle
            .address()
            .add(index, self.address.into(), self.prefix_len)
            .execute()
            .await
            .map_err(nl(format!(
                "adding {}/{} to {} in {ns}",
                self.address, self.prefix_len, self.ifname
            )))?;
        if let Some(gateway) = self.gateway {
            handle
                .route()
                .add(
                    RouteMessageBuilder::<Ipv4Addr>::new()
                        .gateway(gateway)
                        .output_interface(index)
                        .build(),
                )
                .execute()
                .await
                .map_err(nl(format!(
                    "adding a default route via {gateway} dev {} in {ns}",
                    self.ifname
                )))?;
        }
        Ok(())
    }
}

/// Sets the link `name` up in the calling thread's network namespace. For
/// [`netns::create`], which calls it on the thread that made the namespace.
pub(crate) fn bring_up_in_current_netns(name: &str) -> Result<()> {
    with_thread_netlink(|handle| async move {
        handle
            .link()
            .set(LinkUnspec::new_with_name(name).up().build())
            .execute()
            .await
            .map_err(nl(format!("setting {name} up")))
    })
}

/// Runs `f` with a netlink connection opened on the calling thread, so that it talks to
/// that thread's network namespace, driven by a runtime of its own on this thread. Only for
/// threads outside any tokio runtime (those [`netns`] starts).
fn with_thread_netlink<T, F, Fut>(f: F) -> Result<T>
where
    F: FnOnce(Handle) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(LinkError::Runtime)?;
    runtime.block_on(async move {
        // The socket is opened here, on this thread, hence in its namespace.
        let (connection, handle, _) = rtnetlink::new_connection().map_err(LinkError::Socket)?;
        let task = tokio::spawn(connection);
        let result = f(handle).await;
        task.abort();
        result
    })
}

async fn find_link(handle: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    let mut links = handle.link().get().match_name(name).execute();
    match links.try_next().await {
        Ok(link) => Ok(link),
        Err(e) if is_errno(&e, libc::ENODEV) => Ok(None),
        Err(e) => Err(nl(format!("looking up link {name}"))(e)),
    }
}

fn open_netns(path: &Path) -> Result<File> {
    let namespace_error = |source| LinkError::Namespace {
        op: "opening network namespace",
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(namespace_error)?;
    // Without this check the kernel's answer to moving a link "into" a plain file is a
    // bare EINVAL, and only after the veth pair was created.
    if !netns::is_mounted_ns(path) {
        return Err(namespace_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a mounted network namespace",
        )));
    }
    Ok(file)
}

fn link_name(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::IfName(name) => Some(name.as_str()),
        _ => None,
    })
}

fn link_kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        }),
        _ => None,
    })
}

/// `02:4d:0a:d2:00:02`, as `ip link` and Docker's inspect show a MAC.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_for_puts_the_address_after_02_4d() {
        assert_eq!(
            mac_for(Ipv4Addr::new(172, 18, 0, 2)),
            [0x02, 0x4d, 172, 18, 0, 2]
        );
        assert_eq!(mac_for(Ipv4Addr::new(10, 0, 0, 255))[..2], [0x02, 0x4d]);
        // Locally administered (bit 1) and unicast (bit 0 clear), unlike Docker's 02:42.
        let first = mac_for(Ipv4Addr::BROADCAST)[0];
        assert_eq!(first & 0b11, 0b10);
        assert_ne!(mac_for(Ipv4Addr::LOCALHOST)[1], 0x42);
    }

    #[test]
    fn ifnames_are_checked_like_the_kernel_does() {
        assert!(validate_ifname("eth0").is_ok());
        assert!(validate_ifname("a23456789012345").is_ok());
        for bad in [
            "",
            "a234567890123456",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
        ] {
            let err = validate_ifname(bad).unwrap_err();
            assert!(
                matches!(err, LinkError::InvalidName { .. }),
                "{bad:?}: {err}"
            );
        }
        let err = validate_ifname("averyveryverylongname").unwrap_err();
        assert!(err.to_string().contains("longer than 15"), "{err}");
    }

    #[test]
    fn errno_comes_from_the_kernel_answer() {
        let err = LinkError::Namespace {
            op: "opening network namespace",
            path: "/nope".into(),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert_eq!(LinkError::InvalidPrefix(33).errno(), None);
    }

    #[test]
    fn format_mac_is_colon_separated_hex() {
        assert_eq!(
            format_mac(&[0x02, 0x4d, 0xac, 0x12, 0, 2]),
            "02:4d:ac:12:00:02"
        );
    }
}
