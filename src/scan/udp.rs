//! UDP probes: one connected socket per port, so that an ICMP port
//! unreachable comes back as ECONNREFUSED ("closed"); a payload the
//! service answers for the common ones (DNS, NTP, SNMP, ...), so that a
//! reply marks "open"; silence is "open|filtered", as nmap names it.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::connect::Outcome;
use super::State;

/// A DNS query for the root's NS records (id 0x6e72, recursion desired).
const DNS: &[u8] = &[
    0x6e, 0x72, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
    0x01,
];

/// An NTP client request (version 3, mode 3), 48 bytes.
const NTP: [u8; 48] = {
    let mut b = [0u8; 48];
    b[0] = 0x1b;
    b
};

/// An SNMPv1 get-request for sysDescr.0 with community "public".
const SNMP: &[u8] = &[
    0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x19, 0x02,
    0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b, 0x06,
    0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
];

/// A NetBIOS name service status query for "*".
const NBNS: &[u8] = &[
    0x6e, 0x72, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, b'C', b'K', b'A',
    b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A',
    b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', 0x00, 0x00, 0x21,
    0x00, 0x01,
];

/// The payload sent to a port: one its service answers, or a short
/// marker for the rest (an empty datagram is dropped by some stacks).
pub fn payload(port: u16) -> &'static [u8] {
    match port {
        53 | 5353 => DNS,
        123 => &NTP,
        161 => SNMP,
        137 => NBNS,
        _ => b"netray\n",
    }
}

/// What a reply was, for the banner column.
fn describe(port: u16, reply: &[u8]) -> String {
    let kind = match port {
        53 | 5353 if reply.len() >= 12 && reply[..2] == DNS[..2] => "DNS response".to_string(),
        123 if reply.len() >= 48 => format!("NTP v{} reply", (reply[0] >> 3) & 7),
        161 if reply.first() == Some(&0x30) => "SNMP response".to_string(),
        _ => super::connect::first_line(reply).unwrap_or_else(|| "binary".into()),
    };
    format!("{kind} ({} bytes)", reply.len())
}

/// One UDP probe.
pub async fn udp_probe(host: IpAddr, port: u16, t: Duration) -> Outcome {
    let bind = if host.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let Ok(s) = UdpSocket::bind(bind).await else {
        return (State::OpenFiltered, None, None);
    };
    if s.connect((host, port)).await.is_err() {
        return (State::Filtered, None, None);
    }
    let t0 = Instant::now();
    if let Err(e) = s.send(payload(port)).await {
        return if e.kind() == std::io::ErrorKind::ConnectionRefused {
            (State::Closed, Some(t0.elapsed()), None)
        } else {
            (State::Filtered, None, None)
        };
    }
    let mut buf = [0u8; 2048];
    match tokio::time::timeout(t, s.recv(&mut buf)).await {
        Ok(Ok(n)) => (
            State::Open,
            Some(t0.elapsed()),
            Some(describe(port, &buf[..n])),
        ),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            (State::Closed, Some(t0.elapsed()), None)
        }
        // another ICMP unreachable (host, network, prohibited)
        Ok(Err(_)) => (State::Filtered, None, None),
        Err(_) => (State::OpenFiltered, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{connect, Plan, Proto};

    #[test]
    fn payloads_parse_as_their_protocols() {
        let q = hickory_proto::op::Message::from_vec(payload(53)).unwrap();
        assert_eq!(q.queries.len(), 1);
        assert_eq!(payload(123).len(), 48);
        // BER: a SEQUENCE whose length covers the rest
        assert_eq!(usize::from(payload(161)[1]) + 2, payload(161).len());
        assert_eq!(payload(9), b"netray\n");
    }

    #[test]
    fn open_closed_and_silent_on_loopback() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let (ep, sp) = (
                echo.local_addr().unwrap().port(),
                silent.local_addr().unwrap().port(),
            );
            tokio::spawn(async move {
                let mut b = [0u8; 100];
                while let Ok((n, from)) = echo.recv_from(&mut b).await {
                    let _ = echo.send_to(&b[..n], from).await;
                }
            });
            let closed = std::net::UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let plan = Plan {
                hosts: vec!["127.0.0.1".parse().unwrap()],
                ports: vec![ep, sp, closed],
                concurrency: 10,
                rate: None,
                timeout: Duration::from_millis(300),
                retries: 0,
                banner: false,
                banner_wait: Duration::ZERO,
            };
            let r = connect::run(&plan, Proto::Udp, State::OpenFiltered, udp_probe, |_| {}).await;
            let states: Vec<State> = r.iter().map(|x| x.state).collect();
            assert_eq!(
                states,
                vec![State::Open, State::OpenFiltered, State::Closed]
            );
            assert_eq!(r[0].banner.as_deref(), Some("netray (7 bytes)"));
            drop(silent);
        });
    }
}
