//! The host's network interfaces, as pnet's datalink layer lists them,
//! with the MTU and the vendor of each MAC.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::Serialize;

use crate::oui::{self, Vendor};

/// One interface.
#[derive(Debug, Clone, Serialize)]
pub struct Interface {
    /// Kernel name (`eth0`, `lan0`, `lo`).
    pub name: String,
    /// Kernel index.
    pub index: u32,
    /// Hardware address, `None` where there is none (tunnels).
    pub mac: Option<String>,
    /// Who made the MAC (or what kind of address it is).
    pub vendor: Option<Vendor>,
    /// MTU in bytes, when the kernel says.
    pub mtu: Option<u32>,
    /// Addresses with their prefix lengths.
    pub addrs: Vec<Addr>,
    /// Flag names: up, running, lower_up, loopback, broadcast, multicast,
    /// point_to_point, promisc, dormant.
    pub flags: Vec<&'static str>,
}

/// An interface address.
#[derive(Debug, Clone, Serialize)]
pub struct Addr {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// The network (`addr` AND mask) in CIDR form.
    pub network: String,
}

impl Interface {
    /// Whether the interface is up.
    pub fn is_up(&self) -> bool {
        self.flags.contains(&"up")
    }

    /// Whether it is a loopback interface.
    pub fn is_loopback(&self) -> bool {
        self.flags.contains(&"loopback")
    }

    /// The IPv4 addresses with their networks.
    pub fn ipv4_networks(&self) -> impl Iterator<Item = IpNetwork> + '_ {
        self.networks().filter(IpNetwork::is_ipv4)
    }

    /// Every address as an `IpNetwork` (address and prefix).
    pub fn networks(&self) -> impl Iterator<Item = IpNetwork> + '_ {
        self.addrs
            .iter()
            .filter_map(|a| IpNetwork::new(a.addr, a.prefix).ok())
    }
}

// IFF_* from <linux/if.h>
const FLAG_NAMES: [(u32, &str); 9] = [
    (0x1, "up"),
    (0x40, "running"),
    (0x1_0000, "lower_up"),
    (0x8, "loopback"),
    (0x2, "broadcast"),
    (0x1000, "multicast"),
    (0x10, "point_to_point"),
    (0x100, "promisc"),
    (0x2_0000, "dormant"),
];

fn flag_names(flags: u32) -> Vec<&'static str> {
    FLAG_NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn mtu(name: &str) -> Option<u32> {
    // a name from the kernel never holds '/', but do not trust it blindly
    if name.contains('/') || name.starts_with('.') {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn from_pnet(i: &pnet::datalink::NetworkInterface) -> Interface {
    // loopback's all-zero address is no address
    let mac = i.mac.filter(|m| !m.is_zero()).map(|m| m.octets());
    Interface {
        name: i.name.clone(),
        index: i.index,
        mac: mac.map(|m| {
            let t = crate::model::text::mac_text(&m);
            String::from_utf8_lossy(&t).into_owned()
        }),
        vendor: mac.map(oui::vendor),
        mtu: mtu(&i.name),
        addrs: i
            .ips
            .iter()
            .map(|n| Addr {
                addr: n.ip(),
                prefix: n.prefix(),
                network: format!("{}/{}", n.network(), n.prefix()),
            })
            .collect(),
        flags: flag_names(i.flags),
    }
}

/// Every interface, in index order.
pub fn list() -> Vec<Interface> {
    let mut v: Vec<Interface> = pnet::datalink::interfaces().iter().map(from_pnet).collect();
    v.sort_by_key(|i| i.index);
    v
}

/// One interface by name.
pub fn by_name(name: &str) -> Option<Interface> {
    list().into_iter().find(|i| i.name == name)
}

/// The pnet view of an interface, for opening channels.
pub(crate) fn pnet_by_name(name: &str) -> Option<pnet::datalink::NetworkInterface> {
    pnet::datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_named() {
        assert_eq!(
            flag_names(0x1 | 0x8 | 0x40),
            vec!["up", "running", "loopback"]
        );
        assert!(flag_names(0).is_empty());
    }

    #[test]
    fn loopback_is_listed_with_its_addresses() {
        // every Linux network namespace has lo (up or down)
        let lo = list().into_iter().find(|i| i.is_loopback());
        if let Some(lo) = lo {
            assert_eq!(lo.mac, None, "lo has no hardware address worth showing");
            assert!(lo.mtu.is_some());
        }
    }
}
