//! DNS: lookups through a resolver ([`lookup`], hickory-resolver) and
//! iterative traces from the root ([`trace`], hickory-proto messages).

pub mod lookup;
pub mod trace;

use hickory_proto::rr::Record;
use serde::Serialize;

/// A response code as its RFC mnemonic in lower case (`noerror`,
/// `nxdomain`, `refused`, ...): the one spelling of `lookup`'s `status`
/// and `trace`'s `rcode`.
pub fn rcode_mnemonic(code: hickory_proto::op::ResponseCode) -> String {
    use hickory_proto::op::ResponseCode as R;
    match code {
        R::NoError => "noerror".into(),
        R::FormErr => "formerr".into(),
        R::ServFail => "servfail".into(),
        R::NXDomain => "nxdomain".into(),
        R::NotImp => "notimp".into(),
        R::Refused => "refused".into(),
        R::YXDomain => "yxdomain".into(),
        R::YXRRSet => "yxrrset".into(),
        R::NXRRSet => "nxrrset".into(),
        R::NotAuth => "notauth".into(),
        R::NotZone => "notzone".into(),
        R::BADVERS | R::BADSIG => "badvers".into(),
        R::BADKEY => "badkey".into(),
        R::BADTIME => "badtime".into(),
        R::BADMODE => "badmode".into(),
        R::BADNAME => "badname".into(),
        R::BADALG => "badalg".into(),
        R::BADTRUNC => "badtrunc".into(),
        R::BADCOOKIE => "badcookie".into(),
        R::Unknown(n) => format!("rcode{n}"),
    }
}

/// A resource record as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordView {
    /// Owner name.
    pub name: String,
    /// Type (A, AAAA, CNAME, ...).
    #[serde(rename = "type")]
    pub rtype: String,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The data, in zone-file form.
    pub data: String,
}

/// A record's text form.
pub fn record_view(r: &Record) -> RecordView {
    RecordView {
        name: r.name.to_string(),
        rtype: r.record_type().to_string(),
        ttl: r.ttl,
        data: match &r.data {
            // each string quoted, as zone files and dig write them
            hickory_proto::rr::RData::TXT(t) => t
                .txt_data
                .iter()
                .map(|s| format!("\"{}\"", String::from_utf8_lossy(s).replace('"', "\\\"")))
                .collect::<Vec<_>>()
                .join(" "),
            d => d.to_string(),
        },
    }
}

/// The reverse-lookup name of an address: `4.3.2.1.in-addr.arpa.` or the
/// nibbles of an IPv6 address under `ip6.arpa.`.
pub fn reverse_name(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        std::net::IpAddr::V6(v6) => {
            let mut s = String::with_capacity(73);
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str("ip6.arpa.");
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.0.2.10".parse().unwrap()),
            "10.2.0.192.in-addr.arpa."
        );
        assert_eq!(
            reverse_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
        );
    }
}
