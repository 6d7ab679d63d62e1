//! MAC vendor names from the IEEE registry (MA-L, MA-M and MA-S, embedded
//! by the `macnuf` crate), and the address kinds that have no vendor:
//! broadcast, multicast and locally administered addresses.

use serde::Serialize;

/// What a MAC address says about who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Vendor {
    /// A registered vendor (the IEEE organisation name).
    Registered(&'static str),
    /// A globally unique address whose prefix is not in the registry.
    Unknown,
    /// `ff:ff:ff:ff:ff:ff`.
    Broadcast,
    /// The group bit is set (multicast, including IPv4/IPv6 multicast
    /// mappings and STP/LLDP addresses).
    Multicast,
    /// The locally administered bit is set: the address was made up by
    /// software (virtual machines, containers, veth, privacy MACs).
    Local,
    /// All zeros (an unset address, as on loopback).
    Zero,
}

impl Vendor {
    /// The text shown to people.
    pub fn label(&self) -> &'static str {
        match self {
            Vendor::Registered(name) => name,
            Vendor::Unknown => "(unknown vendor)",
            Vendor::Broadcast => "(broadcast)",
            Vendor::Multicast => "(multicast)",
            Vendor::Local => "(locally administered)",
            Vendor::Zero => "(no address)",
        }
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The vendor or kind of a MAC address.
pub fn vendor(mac: [u8; 6]) -> Vendor {
    if mac == [0xff; 6] {
        Vendor::Broadcast
    } else if mac == [0; 6] {
        Vendor::Zero
    } else if mac[0] & 1 != 0 {
        Vendor::Multicast
    } else if mac[0] & 2 != 0 {
        Vendor::Local
    } else {
        macnuf::lookup(macnuf::EUI48::new(mac)).map_or(Vendor::Unknown, Vendor::Registered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_registry() {
        assert_eq!(vendor([0xff; 6]), Vendor::Broadcast);
        assert_eq!(vendor([0; 6]), Vendor::Zero);
        assert_eq!(vendor([0x01, 0x00, 0x5e, 0, 0, 1]), Vendor::Multicast);
        assert_eq!(vendor([0x33, 0x33, 0, 0, 0, 1]), Vendor::Multicast);
        assert_eq!(vendor([0x02, 0x42, 0xac, 0x11, 0, 2]), Vendor::Local);
        // MA-L: Cisco's 00:00:0c
        assert_eq!(
            vendor([0x00, 0x00, 0x0c, 0x12, 0x34, 0x56]),
            Vendor::Registered("Cisco Systems, Inc")
        );
        // MA-L: Intel's 00:1b:21
        assert!(matches!(vendor([0x00, 0x1b, 0x21, 1, 2, 3]),
            Vendor::Registered(n) if n.starts_with("Intel")));
    }

    #[test]
    fn json_form() {
        let v = serde_json::to_value(Vendor::Registered("Cisco Systems, Inc")).unwrap();
        assert_eq!(v["kind"], "registered");
        assert_eq!(v["name"], "Cisco Systems, Inc");
        let v = serde_json::to_value(Vendor::Local).unwrap();
        assert_eq!(v["kind"], "local");
    }
}
