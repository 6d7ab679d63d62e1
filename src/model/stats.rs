//! Results of `stats`: what capinfos and tshark -z give a user first.

use std::net::IpAddr;

use serde::Serialize;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// The file.
    pub file: String,
    /// `pcap` or `pcapng`.
    pub format: Option<&'static str>,
    /// Packets (after the filter, when one is given).
    pub packets: u64,
    /// Bytes on the wire.
    pub bytes: u64,
    /// Bytes captured.
    pub captured_bytes: u64,
    /// First packet time (RFC 3339).
    pub first: Option<String>,
    /// Last packet time (RFC 3339).
    pub last: Option<String>,
    /// Seconds between first and last.
    pub duration_s: f64,
    /// Average packets per second.
    pub avg_pps: f64,
    /// Average bits per second (wire bytes).
    pub avg_bps: f64,
    /// Link types seen.
    pub linktypes: Vec<u32>,
    /// Byte offset where a cut file ends early.
    pub truncated_at: Option<u64>,
    /// Protocol hierarchy, parents before children.
    pub protocols: Vec<ProtoRow>,
    /// IPv4/IPv6 conversations.
    pub ip_conversations: Vec<Conversation>,
    /// TCP conversations (stream index = position).
    pub tcp_conversations: Vec<Conversation>,
    /// UDP conversations.
    pub udp_conversations: Vec<Conversation>,
    /// IP endpoints.
    pub endpoints: Vec<Endpoint>,
    /// TCP connection outcomes.
    pub tcp: TcpSummary,
    /// ARP activity.
    pub arp: ArpSummary,
}

/// One node of the protocol hierarchy.
#[derive(Debug, Clone, Serialize)]
pub struct ProtoRow {
    /// The path, `eth:ipv4:tcp`.
    pub path: String,
    /// Depth (0 = link layer).
    pub depth: usize,
    /// Packets.
    pub packets: u64,
    /// Wire bytes.
    pub bytes: u64,
    /// Share of all packets, in percent.
    pub percent: f64,
}

/// A conversation between two endpoints (A is the side seen first).
#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    /// Stream index (TCP: as `follow` takes it).
    pub index: usize,
    /// Address of A.
    pub a: IpAddr,
    /// Port of A (TCP/UDP).
    pub a_port: Option<u16>,
    /// Address of B.
    pub b: IpAddr,
    /// Port of B.
    pub b_port: Option<u16>,
    /// Packets A to B.
    pub packets_ab: u64,
    /// Bytes A to B.
    pub bytes_ab: u64,
    /// Packets B to A.
    pub packets_ba: u64,
    /// Bytes B to A.
    pub bytes_ba: u64,
    /// Seconds from the capture's first packet to this one's first.
    pub start_s: f64,
    /// Seconds from first to last packet.
    pub duration_s: f64,
    /// TCP only: how the connection went.
    pub state: Option<&'static str>,
}

/// Traffic of one address.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    /// The address.
    pub address: IpAddr,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
}

/// TCP connection outcomes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TcpSummary {
    /// Connections (TCP conversations).
    pub connections: u64,
    /// With a complete three-way handshake.
    pub handshake_completed: u64,
    /// SYN seen but no SYN-ACK.
    pub syn_unanswered: u64,
    /// Ended by a reset.
    pub reset: u64,
    /// Closed by FINs in both directions.
    pub closed: u64,
}

/// ARP activity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ArpSummary {
    /// Requests.
    pub requests: u64,
    /// Replies.
    pub replies: u64,
    /// Gratuitous (sender IP == target IP).
    pub gratuitous: u64,
    /// Distinct IP addresses that answered or announced.
    pub ips: u64,
    /// IPs seen with more than one MAC.
    pub ips_with_several_macs: Vec<SeveralMacs>,
}

/// An IP address announced by more than one MAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeveralMacs {
    /// The address.
    pub ip: std::net::IpAddr,
    /// Every MAC that announced it, in the order seen.
    pub macs: Vec<String>,
}
