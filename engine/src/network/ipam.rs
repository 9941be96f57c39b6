//! IPv4 address management: subnets, the pool of one network (gateway, optional
//! allocation range, addresses in use) and the choice of a subnet for a new network
//! that collides with nothing the host already routes.
//!
//! Allocations are not persisted here: each running container's record keeps its
//! addresses, and the engine rebuilds the pools from those records at start.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    #[error("invalid CIDR address: {0}")]
    InvalidCidr(String),
    #[error("invalid subnet {given}: it should be {normal}")]
    HostBitsSet { given: String, normal: String },
    #[error("invalid IP address: {0}")]
    InvalidAddress(String),
    #[error("subnet {0} is too small: a network needs at least a /30")]
    TooSmall(Subnet),
    #[error("{what} {ip} is not in subnet {subnet}")]
    OutsideSubnet {
        what: &'static str,
        ip: String,
        subnet: Subnet,
    },
    #[error("Address already in use: {0}")]
    InUse(Ipv4Addr),
    #[error("no available IPv4 addresses on this network's address pools: {0}")]
    Exhausted(Subnet),
}

/// An IPv4 network in CIDR form, with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subnet {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl Subnet {
    /// `a.b.c.d/n`; host bits set is an error naming the network meant (as Docker's).
    pub fn parse(s: &str) -> Result<Subnet, IpamError> {
        let (addr, prefix) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| IpamError::InvalidCidr(s.into()))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| IpamError::InvalidCidr(s.into()))?;
        let prefix_len: u8 = prefix
            .parse()
            .map_err(|_| IpamError::InvalidCidr(s.into()))?;
        if prefix_len > 32 {
            return Err(IpamError::InvalidCidr(s.into()));
        }
        let subnet = Subnet::containing(addr, prefix_len);
        if subnet.addr != addr {
            return Err(IpamError::HostBitsSet {
                given: s.into(),
                normal: subnet.to_string(),
            });
        }
        Ok(subnet)
    }

    /// The network of `addr` with `prefix_len` bits.
    pub fn containing(addr: Ipv4Addr, prefix_len: u8) -> Subnet {
        Subnet {
            addr: Ipv4Addr::from(u32::from(addr) & mask(prefix_len)),
            prefix_len,
        }
    }

    fn first(&self) -> u32 {
        u32::from(self.addr)
    }

    fn last(&self) -> u32 {
        self.first() | !mask(self.prefix_len)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix_len) == self.first()
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The first host address: the gateway unless one is given.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.first() + 1)
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.last())
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

fn mask(prefix_len: u8) -> u32 {
    if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len))
    }
}

pub fn parse_ip(s: &str) -> Result<Ipv4Addr, IpamError> {
    s.parse()
        .map_err(|_| IpamError::InvalidAddress(s.to_owned()))
}

/// The addresses of one network.
#[derive(Debug, Clone)]
pub struct Pool {
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    /// Dynamic addresses come from here (the whole subnet by default).
    pub range: Subnet,
    in_use: BTreeSet<Ipv4Addr>,
    /// Where the next dynamic search starts, so a released address is not handed out
    /// again at once (stale ARP and conntrack entries would still point at its old owner).
    next: u32,
}

impl Pool {
    pub fn new(
        subnet: Subnet,
        gateway: Option<Ipv4Addr>,
        range: Option<Subnet>,
    ) -> Result<Pool, IpamError> {
        if subnet.prefix_len > 30 {
            return Err(IpamError::TooSmall(subnet));
        }
        let gateway = gateway.unwrap_or_else(|| subnet.first_host());
        if !subnet.contains(gateway) || gateway == subnet.addr || gateway == subnet.broadcast() {
            return Err(IpamError::OutsideSubnet {
                what: "gateway",
                ip: gateway.to_string(),
                subnet,
            });
        }
        let range = range.unwrap_or(subnet);
        if !subnet.contains(range.addr) || range.prefix_len < subnet.prefix_len {
            return Err(IpamError::OutsideSubnet {
                what: "IP range",
                ip: range.to_string(),
                subnet,
            });
        }
        Ok(Pool {
            subnet,
            gateway,
            range,
            in_use: BTreeSet::new(),
            next: range.first(),
        })
    }

    fn usable(&self, ip: Ipv4Addr) -> bool {
        self.subnet.contains(ip)
            && ip != self.subnet.addr
            && ip != self.subnet.broadcast()
            && ip != self.gateway
    }

    /// A specific address (`--ip`), or the next free one of the range.
    pub fn allocate(&mut self, want: Option<Ipv4Addr>) -> Result<Ipv4Addr, IpamError> {
        if let Some(ip) = want {
            if !self.subnet.contains(ip) {
                return Err(IpamError::OutsideSubnet {
                    what: "address",
                    ip: ip.to_string(),
                    subnet: self.subnet,
                });
            }
            if !self.usable(ip) || !self.in_use.insert(ip) {
                return Err(IpamError::InUse(ip));
            }
            return Ok(ip);
        }
        let (first, last) = (self.range.first(), self.range.last());
        let size = u64::from(last - first) + 1;
        let mut candidate = self.next.clamp(first, last);
        for _ in 0..size {
            let ip = Ipv4Addr::from(candidate);
            candidate = if candidate == last {
                first
            } else {
                candidate + 1
            };
            if self.usable(ip) && !self.in_use.contains(&ip) {
                self.in_use.insert(ip);
                self.next = candidate;
                return Ok(ip);
            }
        }
        Err(IpamError::Exhausted(self.subnet))
    }

    /// Marks an address taken without the range rules (a running container's, at load).
    pub fn reserve(&mut self, ip: Ipv4Addr) {
        self.in_use.insert(ip);
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        self.in_use.remove(&ip);
    }

    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }
}

/// The first `/size` block of `base` that overlaps none of `taken` (other networks and
/// the host's routes; a default route, /0, is ignored).
pub fn choose_subnet(base: Subnet, size: u8, taken: &[Subnet]) -> Option<Subnet> {
    if size < base.prefix_len || size > 30 {
        return None;
    }
    let step = 1u64 << (32 - u32::from(size));
    let mut at = u64::from(base.first());
    while at + step - 1 <= u64::from(base.last()) {
        let candidate = Subnet {
            addr: Ipv4Addr::from(at as u32),
            prefix_len: size,
        };
        if !taken
            .iter()
            .any(|t| t.prefix_len > 0 && t.overlaps(&candidate))
        {
            return Some(candidate);
        }
        at += step;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Subnet {
        Subnet::parse(x).unwrap()
    }

    #[test]
    fn subnets_parse_and_refuse_host_bits() {
        assert_eq!(s("10.1.0.0/16").to_string(), "10.1.0.0/16");
        assert_eq!(
            Subnet::parse("10.1.0.5/16").unwrap_err().to_string(),
            "invalid subnet 10.1.0.5/16: it should be 10.1.0.0/16"
        );
        for bad in ["10.1.0.0", "10.1.0.0/33", "x/8", "10.1.0.0/x", ""] {
            assert!(Subnet::parse(bad).is_err(), "{bad}");
        }
        assert!(s("10.1.0.0/16").overlaps(&s("10.1.2.0/24")));
        assert!(!s("10.1.0.0/24").overlaps(&s("10.1.1.0/24")));
        assert!(s("0.0.0.0/0").contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn pool_skips_gateway_network_and_broadcast_and_rotates() {
        let mut p = Pool::new(s("10.5.0.0/29"), None, None).unwrap();
        assert_eq!(p.gateway.to_string(), "10.5.0.1");
        let got: Vec<String> = (0..5)
            .map(|_| p.allocate(None).unwrap().to_string())
            .collect();
        assert_eq!(
            got,
            ["10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5", "10.5.0.6"]
        );
        assert!(matches!(p.allocate(None), Err(IpamError::Exhausted(_))));
        p.release("10.5.0.3".parse().unwrap());
        assert_eq!(p.allocate(None).unwrap().to_string(), "10.5.0.3");
        p.release("10.5.0.2".parse().unwrap());
        p.release("10.5.0.4".parse().unwrap());
        // After .3 the search goes on from .4, not back to .2.
        assert_eq!(p.allocate(None).unwrap().to_string(), "10.5.0.4");
    }

    #[test]
    fn specific_addresses() {
        let mut p = Pool::new(s("10.5.0.0/24"), Some("10.5.0.254".parse().unwrap()), None).unwrap();
        assert_eq!(
            p.allocate(Some("10.5.0.9".parse().unwrap()))
                .unwrap()
                .to_string(),
            "10.5.0.9"
        );
        assert!(matches!(
            p.allocate(Some("10.5.0.9".parse().unwrap())),
            Err(IpamError::InUse(_))
        ));
        assert!(matches!(
            p.allocate(Some("10.5.0.254".parse().unwrap())),
            Err(IpamError::InUse(_))
        ));
        assert!(matches!(
            p.allocate(Some("10.6.0.9".parse().unwrap())),
            Err(IpamError::OutsideSubnet { .. })
        ));
        assert_eq!(p.allocate(None).unwrap().to_string(), "10.5.0.1");
    }

    #[test]
    fn range_and_gateway_checks() {
        let mut p = Pool::new(s("10.5.0.0/24"), None, Some(s("10.5.0.128/25"))).unwrap();
        assert_eq!(p.allocate(None).unwrap().to_string(), "10.5.0.128");
        assert!(Pool::new(s("10.5.0.0/24"), Some("10.6.0.1".parse().unwrap()), None).is_err());
        assert!(Pool::new(s("10.5.0.0/24"), None, Some(s("10.6.0.0/25"))).is_err());
        assert!(Pool::new(s("10.5.0.0/24"), None, Some(s("10.5.0.0/16"))).is_err());
        assert!(Pool::new(s("10.5.0.0/31"), None, None).is_err());
    }

    #[test]
    fn subnet_choice_avoids_taken_blocks() {
        let base = s("10.211.0.0/16");
        assert_eq!(
            choose_subnet(base, 24, &[]).unwrap().to_string(),
            "10.211.0.0/24"
        );
        let taken = [s("0.0.0.0/0"), s("10.211.0.0/23"), s("10.211.2.128/25")];
        assert_eq!(
            choose_subnet(base, 24, &taken).unwrap().to_string(),
            "10.211.3.0/24"
        );
        assert!(choose_subnet(s("10.211.0.0/24"), 24, &[s("10.0.0.0/8")]).is_none());
    }
}
