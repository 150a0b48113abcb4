//! Pure IPv4 address management helpers: CIDRs, netmasks, gateways, address ranges, overlap
//! detection, address iteration and guest NIC MAC addresses. No I/O; every refusal is a 431
//! whose message says what is wrong and what a valid value looks like.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ferrostack_types::Error;

/// An IPv4 network: a network address and a prefix length (0–32), host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    network: Ipv4Addr,
    prefix: u8,
}

/// The netmask for a prefix length, or `None` if `prefix > 32`.
pub fn netmask_from_prefix(prefix: u8) -> Option<Ipv4Addr> {
    match prefix {
        0 => Some(Ipv4Addr::UNSPECIFIED),
        1..=32 => Some(Ipv4Addr::from(u32::MAX << (32 - u32::from(prefix)))),
        _ => None,
    }
}

/// The prefix length of a netmask, or `None` if its one-bits are not contiguous.
pub fn prefix_from_netmask(netmask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(netmask);
    let prefix = bits.leading_ones();
    // Contiguous iff nothing is set after the leading ones.
    (bits.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

/// Parse a dotted-quad IPv4 address given for API parameter `param`.
pub fn parse_ipv4(param: &str, value: &str) -> Result<Ipv4Addr, Error> {
    value.trim().parse().map_err(|_| {
        Error::invalid(format!(
            "Invalid IPv4 address '{value}' for {param}; expected e.g. 10.1.1.1"
        ))
    })
}

/// Parse a netmask given for API parameter `param` (dotted quad, contiguous ones).
pub fn parse_netmask(param: &str, value: &str) -> Result<Ipv4Addr, Error> {
    let mask = parse_ipv4(param, value)?;
    prefix_from_netmask(mask).map(|_| mask).ok_or_else(|| {
        Error::invalid(format!(
            "Invalid netmask {value} for {param}; expected e.g. 255.255.255.0"
        ))
    })
}

impl Cidr {
    /// A CIDR from a network address and prefix; the address must have no host bits set.
    pub fn new(network: Ipv4Addr, prefix: u8) -> Result<Self, Error> {
        let mask = netmask_from_prefix(prefix)
            .ok_or_else(|| Error::invalid(format!("Invalid CIDR prefix /{prefix}; it must be between 0 and 32")))?;
        let base = Ipv4Addr::from(u32::from(network) & u32::from(mask));
        if base != network {
            return Err(Error::invalid(format!(
                "Invalid CIDR {network}/{prefix}: host bits are set; the network is {base}/{prefix}"
            )));
        }
        Ok(Cidr { network, prefix })
    }

    /// Parse `a.b.c.d/n`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || Error::invalid(format!("Invalid CIDR '{s}'; expected e.g. 10.1.1.0/24"));
        let (addr, prefix) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Cidr::new(addr, prefix)
    }

    /// The network containing `ip` under `netmask` (e.g. a gateway and its netmask).
    pub fn containing(ip: Ipv4Addr, netmask: Ipv4Addr) -> Result<Self, Error> {
        let prefix = prefix_from_netmask(netmask)
            .ok_or_else(|| Error::invalid(format!("Invalid netmask {netmask}; expected e.g. 255.255.255.0")))?;
        Ok(Cidr {
            network: Ipv4Addr::from(u32::from(ip) & u32::from(netmask)),
            prefix,
        })
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn netmask(&self) -> Ipv4Addr {
        netmask_from_prefix(self.prefix).unwrap_or(Ipv4Addr::BROADCAST)
    }

    /// The last address of the network.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !u32::from(self.netmask()))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.netmask()) == u32::from(self.network)
    }

    /// Whether the two networks share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.network) || other.contains(self.network)
    }

    /// The usable host addresses: all but the network and broadcast address, except for /31
    /// (both, RFC 3021) and /32 (the one address).
    pub fn hosts(&self) -> IpRange {
        let (lo, hi) = (u32::from(self.network), u32::from(self.broadcast()));
        if self.prefix >= 31 {
            IpRange::from_u32(lo, hi)
        } else {
            IpRange::from_u32(lo + 1, hi - 1)
        }
    }

    /// Whether `ip` is a usable host address of this network.
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        self.hosts().contains(ip)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Cidr::parse(s)
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        Cidr::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Check a gateway against its netmask and return the network it sits in. The gateway must be
/// a usable host address of that network (not its network or broadcast address).
pub fn validate_gateway(gateway: Ipv4Addr, netmask: Ipv4Addr) -> Result<Cidr, Error> {
    let cidr = Cidr::containing(gateway, netmask)?;
    if !cidr.is_host(gateway) {
        return Err(Error::invalid(format!(
            "Invalid gateway {gateway} for netmask {netmask}: it is the network or broadcast address of {cidr}"
        )));
    }
    Ok(cidr)
}

/// An inclusive range of IPv4 addresses, `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpRange {
    start: Ipv4Addr,
    end: Ipv4Addr,
}

impl IpRange {
    /// A range; `start` must not be after `end`.
    pub fn new(start: Ipv4Addr, end: Ipv4Addr) -> Result<Self, Error> {
        if start > end {
            return Err(Error::invalid(format!(
                "Invalid IP range {start}-{end}: the start IP must not be greater than the end IP"
            )));
        }
        Ok(IpRange { start, end })
    }

    fn from_u32(start: u32, end: u32) -> Self {
        IpRange {
            start: Ipv4Addr::from(start),
            end: Ipv4Addr::from(end),
        }
    }

    pub fn start(&self) -> Ipv4Addr {
        self.start
    }

    pub fn end(&self) -> Ipv4Addr {
        self.end
    }

    /// Number of addresses in the range (at least 1).
    pub fn len(&self) -> u64 {
        u64::from(u32::from(self.end)) - u64::from(u32::from(self.start)) + 1
    }

    /// Always false: a range holds at least one address. (Present for API symmetry.)
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.start <= ip && ip <= self.end
    }

    pub fn overlaps(&self, other: &IpRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// The addresses in order.
    pub fn iter(&self) -> impl Iterator<Item = Ipv4Addr> {
        (u32::from(self.start)..=u32::from(self.end)).map(Ipv4Addr::from)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// Check an IP range (a VLAN/pod/guest range: `startip`..`endip`) against its gateway and
/// netmask, as CloudStack does when a range is added: both ends must be usable hosts of the
/// gateway's network, and the gateway must not be inside the range.
pub fn validate_range(start: Ipv4Addr, end: Ipv4Addr, gateway: Ipv4Addr, netmask: Ipv4Addr) -> Result<IpRange, Error> {
    let range = IpRange::new(start, end)?;
    let cidr = validate_gateway(gateway, netmask)?;
    for ip in [start, end] {
        if !cidr.is_host(ip) {
            return Err(Error::invalid(format!(
                "Invalid IP range {range}: {ip} is not a usable address of the gateway's network {cidr} \
                 (gateway {gateway}, netmask {netmask})"
            )));
        }
    }
    if range.contains(gateway) {
        return Err(Error::invalid(format!(
            "Invalid IP range {range}: it contains the gateway {gateway}; the gateway must not be part of the range"
        )));
    }
    Ok(range)
}

/// The first pair of overlapping ranges (by index), if any.
pub fn find_overlap(ranges: &[IpRange]) -> Option<(usize, usize)> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| (ranges[i].start, ranges[i].end));
    order.windows(2).find_map(|w| {
        let (a, b) = (w[0], w[1]);
        ranges[a].overlaps(&ranges[b]).then_some((a.min(b), a.max(b)))
    })
}

/// Check that `new` overlaps none of `existing`; the error names the range it collides with.
pub fn check_no_overlap(new: &IpRange, existing: &[IpRange]) -> Result<(), Error> {
    match existing.iter().find(|r| r.overlaps(new)) {
        Some(r) => Err(Error::invalid(format!(
            "The IP range {new} overlaps the existing range {r}; choose a different start IP/end IP"
        ))),
        None => Ok(()),
    }
}

/// The first byte of every guest NIC MAC: locally administered (bit 1), unicast (bit 0 clear).
pub const MAC_PREFIX: u8 = 0x02;

/// The guest NIC MAC for a sequence number: `02:00:` followed by the 32-bit sequence,
/// big-endian (`1` → `02:00:00:00:00:01`). Distinct sequences give distinct MACs; the caller
/// takes the sequence from one durable, install-wide counter. Past 2³² − 1 the space is
/// exhausted (533).
pub fn mac_from_sequence(seq: u64) -> Result<String, Error> {
    let seq = u32::try_from(seq).map_err(|_| {
        Error::InsufficientCapacity(format!(
            "MAC address space exhausted: sequence {seq} does not fit the 32 bits of 02:00:xx:xx:xx:xx"
        ))
    })?;
    let [a, b, c, d] = seq.to_be_bytes();
    Ok(format!("{MAC_PREFIX:02x}:00:{a:02x}:{b:02x}:{c:02x}:{d:02x}"))
}

/// Parse `aa:bb:cc:dd:ee:ff` (or with `-`), any case.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.trim().split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (slot, part) in out.iter_mut().zip(&parts) {
        if part.len() != 2 {
            return None;
        }
        *slot = u8::from_str_radix(part, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn netmask_prefix_round_trip() {
        for p in 0..=32u8 {
            assert_eq!(prefix_from_netmask(netmask_from_prefix(p).unwrap()), Some(p));
        }
        assert_eq!(netmask_from_prefix(24), Some(ip("255.255.255.0")));
        assert_eq!(netmask_from_prefix(33), None);
        assert_eq!(prefix_from_netmask(ip("255.0.255.0")), None);
        assert!(parse_netmask("netmask", "255.255.0.255").is_err());
        assert_eq!(parse_netmask("netmask", "255.255.252.0"), Ok(ip("255.255.252.0")));
        let e = parse_ipv4("gateway", "10.1.1").unwrap_err();
        assert_eq!(e.http_status(), 431);
        assert!(e.to_string().contains("gateway"), "{e}");
    }

    #[test]
    fn cidr_parse_and_queries() {
        let c = Cidr::parse("10.1.1.0/24").unwrap();
        assert_eq!(c.to_string(), "10.1.1.0/24");
        assert_eq!(c.netmask(), ip("255.255.255.0"));
        assert_eq!(c.broadcast(), ip("10.1.1.255"));
        assert!(c.contains(ip("10.1.1.77")) && !c.contains(ip("10.1.2.1")));
        assert_eq!(c.hosts().start(), ip("10.1.1.1"));
        assert_eq!(c.hosts().end(), ip("10.1.1.254"));
        assert_eq!(c.hosts().len(), 254);
        let e = Cidr::parse("10.1.1.5/24").unwrap_err();
        assert!(e.to_string().contains("the network is 10.1.1.0/24"), "{e}");
        for bad in ["10.1.1.0", "10.1.1.0/33", "x/24", "10.1.1.0/"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().hosts().len(), (1u64 << 32) - 2);
        assert_eq!(Cidr::parse("10.0.0.4/31").unwrap().hosts().len(), 2);
        assert_eq!(Cidr::parse("10.0.0.4/32").unwrap().hosts().len(), 1);
        assert_eq!(
            Cidr::containing(ip("192.168.5.1"), ip("255.255.0.0"))
                .unwrap()
                .to_string(),
            "192.168.0.0/16"
        );
        assert_eq!("172.16.0.0/12".parse::<Cidr>().unwrap().prefix(), 12);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"10.1.1.0/24\"");
        assert_eq!(serde_json::from_str::<Cidr>("\"10.1.1.0/24\"").unwrap(), c);
    }

    #[test]
    fn cidr_overlap() {
        let a = Cidr::parse("10.0.0.0/16").unwrap();
        let b = Cidr::parse("10.0.128.0/24").unwrap();
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }

    #[test]
    fn gateway_must_be_a_host_of_its_network() {
        assert_eq!(
            validate_gateway(ip("10.1.1.1"), ip("255.255.255.0"))
                .unwrap()
                .to_string(),
            "10.1.1.0/24"
        );
        assert!(validate_gateway(ip("10.1.1.0"), ip("255.255.255.0")).is_err());
        let e = validate_gateway(ip("10.1.1.255"), ip("255.255.255.0")).unwrap_err();
        assert!(e.to_string().contains("broadcast"), "{e}");
        assert!(validate_gateway(ip("10.1.1.1"), ip("255.0.255.0")).is_err());
    }

    #[test]
    fn range_validation() {
        let (gw, mask) = (ip("10.1.1.1"), ip("255.255.255.0"));
        let r = validate_range(ip("10.1.1.10"), ip("10.1.1.20"), gw, mask).unwrap();
        assert_eq!(r.len(), 11);
        assert_eq!(r.to_string(), "10.1.1.10-10.1.1.20");
        let e = validate_range(ip("10.1.1.20"), ip("10.1.1.10"), gw, mask).unwrap_err();
        assert!(e.to_string().contains("start IP must not be greater"), "{e}");
        let e = validate_range(ip("10.1.1.10"), ip("10.1.2.20"), gw, mask).unwrap_err();
        assert!(e.to_string().contains("10.1.2.20 is not a usable address"), "{e}");
        assert!(validate_range(ip("10.1.1.10"), ip("10.1.1.255"), gw, mask).is_err());
        let e = validate_range(ip("10.1.1.1"), ip("10.1.1.9"), gw, mask).unwrap_err();
        assert!(e.to_string().contains("contains the gateway 10.1.1.1"), "{e}");
        assert_eq!(
            validate_range(ip("10.1.1.2"), ip("10.1.1.2"), gw, mask).unwrap().len(),
            1
        );
    }

    #[test]
    fn overlap_detection() {
        let r = |a: &str, b: &str| IpRange::new(ip(a), ip(b)).unwrap();
        let ranges = [
            r("10.0.0.50", "10.0.0.60"),
            r("10.0.0.1", "10.0.0.10"),
            r("10.0.0.10", "10.0.0.20"),
        ];
        assert_eq!(find_overlap(&ranges), Some((1, 2)));
        assert_eq!(find_overlap(&ranges[..2]), None);
        assert_eq!(find_overlap(&[]), None);
        assert!(!r("10.0.0.1", "10.0.0.9").overlaps(&r("10.0.0.10", "10.0.0.20")));
        assert!(r("10.0.0.1", "10.0.0.100").overlaps(&r("10.0.0.10", "10.0.0.20")));
        let e = check_no_overlap(&r("10.0.0.55", "10.0.0.70"), &ranges).unwrap_err();
        assert!(
            e.to_string()
                .contains("overlaps the existing range 10.0.0.50-10.0.0.60"),
            "{e}"
        );
        assert_eq!(check_no_overlap(&r("10.0.0.61", "10.0.0.70"), &ranges), Ok(()));
    }

    #[test]
    fn iteration() {
        let r = IpRange::new(ip("10.0.0.254"), ip("10.0.1.1")).unwrap();
        let all: Vec<String> = r.iter().map(|a| a.to_string()).collect();
        assert_eq!(all, ["10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1"]);
        assert!(!r.is_empty() && r.contains(ip("10.0.1.0")) && !r.contains(ip("10.0.1.2")));
        let top = IpRange::new(ip("255.255.255.254"), ip("255.255.255.255")).unwrap();
        assert_eq!(top.iter().count(), 2);
    }

    #[test]
    fn macs_are_locally_administered_and_unique() {
        assert_eq!(mac_from_sequence(1).unwrap(), "02:00:00:00:00:01");
        assert_eq!(mac_from_sequence(0x0102_0304).unwrap(), "02:00:01:02:03:04");
        assert_eq!(mac_from_sequence(u64::from(u32::MAX)).unwrap(), "02:00:ff:ff:ff:ff");
        assert_eq!(mac_from_sequence(1 << 32).unwrap_err().http_status(), 533);
        let macs: std::collections::BTreeSet<String> = (0..10_000u64).map(|s| mac_from_sequence(s).unwrap()).collect();
        assert_eq!(macs.len(), 10_000);
        let bytes = parse_mac(&mac_from_sequence(77).unwrap()).unwrap();
        assert_eq!(bytes[0] & 0x01, 0, "unicast");
        assert_eq!(bytes[0] & 0x02, 0x02, "locally administered");
        assert_eq!(parse_mac("1E-00-AB-cd-00-01"), Some([0x1e, 0, 0xab, 0xcd, 0, 1]));
        assert_eq!(parse_mac("02:00:00:00:00"), None);
        assert_eq!(parse_mac("02:00:00:00:00:0g"), None);
    }
}
