//! A private LAN made of network namespaces, for the tests that need real
//! interfaces (root only; those tests are `#[ignore = "needs root: ..."]`).
//!
//! Every interface lives inside a namespace the LAN created; nothing is
//! added to, or changed in, the namespace the tests run in:
//! - a switch namespace holding a bridge (`br0`), one port per node;
//! - one namespace for netray (interface `lan0`, 192.0.2.10 by default);
//! - N host namespaces (`eth0`, 192.0.2.x, chosen or generated MACs);
//! - optionally a router (192.0.2.1 on `lan0`, IP forwarding on) with a
//!   second subnet 198.51.100.0/24 behind it (`wan0` = 198.51.100.1) and
//!   one host there (198.51.100.10); every other node then routes by
//!   default through 192.0.2.1.
//!
//! Names are unique per process and LAN, so tests run in parallel. The
//! [`Lan`] guard deletes every namespace it made (which destroys the veth
//! pairs) and kills every process it started, on drop, even after a panic.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// True when the tests run as root (namespaces need it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// One machine on the LAN.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its namespace.
    pub ns: String,
    /// Its interface on the LAN.
    pub ifname: String,
    /// Its IPv4 address.
    pub ip: Ipv4Addr,
    /// Its IPv6 address, when the LAN has IPv6.
    pub ip6: Option<Ipv6Addr>,
    /// Its MAC address (lowercase, colon-separated).
    pub mac: String,
}

/// How to build a LAN.
#[derive(Debug, Clone)]
pub struct LanBuilder {
    hosts: Vec<(Ipv4Addr, Option<String>)>,
    router: bool,
    ipv6: bool,
    netray_ip: Ipv4Addr,
}

/// A locally administered MAC made from an IPv4 address.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:00:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

fn v6_for(ip: Ipv4Addr) -> Ipv6Addr {
    // 192.0.2.x -> 2001:db8::x, 198.51.100.x -> 2001:db8:1::x
    let o = ip.octets();
    let net = u16::from(o[0] == 198);
    Ipv6Addr::new(0x2001, 0xdb8, net, 0, 0, 0, 0, u16::from(o[3]))
}

impl LanBuilder {
    /// A LAN with netray's namespace only.
    pub fn new() -> Self {
        LanBuilder {
            hosts: Vec::new(),
            router: false,
            ipv6: false,
            netray_ip: Ipv4Addr::new(192, 0, 2, 10),
        }
    }

    /// Adds hosts 192.0.2.21, .22, ... (`n` of them), generated MACs.
    pub fn hosts(mut self, n: u8) -> Self {
        for k in 0..n {
            self.hosts.push((Ipv4Addr::new(192, 0, 2, 21 + k), None));
        }
        self
    }

    /// Adds one host with a chosen address and, optionally, MAC.
    pub fn host(mut self, ip: Ipv4Addr, mac: Option<&str>) -> Self {
        self.hosts.push((ip, mac.map(str::to_string)));
        self
    }

    /// Adds the router and the subnet behind it.
    pub fn router(mut self) -> Self {
        self.router = true;
        self
    }

    /// Gives every node an IPv6 address in 2001:db8::/64 too.
    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    /// Builds it. Panics (after cleaning up) when a step fails.
    pub fn build(self) -> Lan {
        let id = format!(
            "nr{}x{}",
            std::process::id() % 100_000,
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let mut lan = Lan {
            id: id.clone(),
            namespaces: Vec::new(),
            children: Vec::new(),
            netray: None,
            hosts: Vec::new(),
            router: None,
            remote: None,
            ports: 0,
        };
        let sw = format!("{id}sw");
        lan.add_ns(&sw);
        // a plain switch: no MLD snooping, so NDP's multicast reaches every
        // port from the first packet on
        lan.ip(
            &sw,
            &[
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        lan.ip(&sw, &["link", "set", "br0", "up"]);
        let netray = lan.attach("netray", "lan0", self.netray_ip, None, self.ipv6);
        lan.netray = Some(netray);
        for (i, (ip, mac)) in self.hosts.iter().enumerate() {
            let node = lan.attach(&format!("h{i}"), "eth0", *ip, mac.clone(), self.ipv6);
            lan.hosts.push(node);
        }
        if self.router {
            let rt = lan.attach("rt", "lan0", Ipv4Addr::new(192, 0, 2, 1), None, self.ipv6);
            let far = format!("{id}far");
            lan.add_ns(&far);
            lan.ip(
                &rt.ns,
                &[
                    "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", &far,
                ],
            );
            let far_ip = Ipv4Addr::new(198, 51, 100, 10);
            let far_mac = mac_for(far_ip);
            lan.ip(&rt.ns, &["addr", "add", "198.51.100.1/24", "dev", "wan0"]);
            lan.ip(&rt.ns, &["link", "set", "wan0", "up"]);
            lan.ip(&far, &["link", "set", "eth0", "address", &far_mac]);
            lan.ip(&far, &["addr", "add", "198.51.100.10/24", "dev", "eth0"]);
            lan.ip(&far, &["link", "set", "eth0", "up"]);
            lan.ip(&far, &["link", "set", "lo", "up"]);
            lan.ip(&far, &["route", "add", "default", "via", "198.51.100.1"]);
            if self.ipv6 {
                lan.ip(
                    &rt.ns,
                    &["addr", "add", "2001:db8:1::1/64", "dev", "wan0", "nodad"],
                );
                lan.ip(
                    &far,
                    &["addr", "add", "2001:db8:1::a/64", "dev", "eth0", "nodad"],
                );
                lan.ip(
                    &far,
                    &["-6", "route", "add", "default", "via", "2001:db8:1::1"],
                );
            }
            lan.sysctl(&rt.ns, "net.ipv4.ip_forward=1");
            if self.ipv6 {
                lan.sysctl(&rt.ns, "net.ipv6.conf.all.forwarding=1");
            }
            let mut nodes: Vec<Node> = lan.hosts.clone();
            nodes.extend(lan.netray.clone());
            for n in nodes {
                lan.ip(&n.ns, &["route", "add", "default", "via", "192.0.2.1"]);
                if self.ipv6 {
                    lan.ip(
                        &n.ns,
                        &["-6", "route", "add", "default", "via", "2001:db8::1"],
                    );
                }
            }
            lan.router = Some(rt);
            lan.remote = Some(Node {
                ns: far,
                ifname: "eth0".into(),
                ip: far_ip,
                ip6: self.ipv6.then(|| v6_for(far_ip)),
                mac: far_mac,
            });
        }
        lan
    }
}

/// A built LAN; dropping it removes everything.
pub struct Lan {
    id: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
    netray: Option<Node>,
    /// The hosts, in the order they were added.
    pub hosts: Vec<Node>,
    /// The router's LAN side (192.0.2.1), when there is one.
    pub router: Option<Node>,
    /// The host behind the router (198.51.100.10), when there is one.
    pub remote: Option<Node>,
    ports: usize,
}

impl Lan {
    /// netray's node (interface `lan0`).
    pub fn netray(&self) -> &Node {
        self.netray.as_ref().expect("built")
    }

    /// The switch namespace.
    pub fn switch_ns(&self) -> String {
        format!("{}sw", self.id)
    }

    fn add_ns(&mut self, name: &str) {
        let out = Command::new("ip")
            .args(["netns", "add", name])
            .output()
            .expect("ip netns add");
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.namespaces.push(name.to_string());
    }

    /// Runs `ip -n NS ARGS...`, panicking on failure.
    pub fn ip(&self, ns: &str, args: &[&str]) {
        let out = Command::new("ip")
            .args(["-n", ns])
            .args(args)
            .output()
            .expect("ip");
        assert!(
            out.status.success(),
            "ip -n {ns} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn sysctl(&self, ns: &str, setting: &str) {
        let out = self.exec(ns, &["sysctl", "-qw", setting]);
        assert!(out.status.success(), "sysctl {setting} in {ns}");
    }

    fn attach(
        &mut self,
        role: &str,
        ifname: &str,
        ip: Ipv4Addr,
        mac: Option<String>,
        ipv6: bool,
    ) -> Node {
        let ns = format!("{}{role}", self.id);
        self.add_ns(&ns);
        let sw = self.switch_ns();
        let port = format!("p{}", self.ports);
        self.ports += 1;
        // both ends are made inside their namespaces: nothing appears in
        // the namespace the tests run in, not even for a moment
        self.ip(
            &ns,
            &[
                "link", "add", ifname, "type", "veth", "peer", "name", &port, "netns", &sw,
            ],
        );
        self.ip(&sw, &["link", "set", &port, "master", "br0", "up"]);
        let mac = mac.unwrap_or_else(|| mac_for(ip));
        self.ip(&ns, &["link", "set", ifname, "address", &mac]);
        self.ip(&ns, &["addr", "add", &format!("{ip}/24"), "dev", ifname]);
        let ip6 = ipv6.then(|| v6_for(ip));
        if let Some(v6) = ip6 {
            self.ip(
                &ns,
                &["addr", "add", &format!("{v6}/64"), "dev", ifname, "nodad"],
            );
        }
        self.ip(&ns, &["link", "set", ifname, "up"]);
        self.ip(&ns, &["link", "set", "lo", "up"]);
        Node {
            ns,
            ifname: ifname.to_string(),
            ip,
            ip6,
            mac,
        }
    }

    /// Runs a command inside a namespace and waits for it.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("ip netns exec")
    }

    /// Runs netray inside netray's namespace.
    pub fn netray_cmd(&self, args: &[&str]) -> Output {
        let mut all = vec![env!("CARGO_BIN_EXE_netray")];
        all.extend_from_slice(args);
        self.exec(&self.netray().ns, &all)
    }

    /// Runs netray in netray's namespace as nobody, without capabilities.
    pub fn netray_unprivileged(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = crate::util::UNPRIVILEGED.to_vec();
        all.push(env!("CARGO_BIN_EXE_netray"));
        all.extend_from_slice(args);
        self.exec(&self.netray().ns, &all)
    }

    /// Starts a command inside a namespace in the background. It is
    /// killed after `lifetime` at the latest (by `timeout`), and when the
    /// LAN is dropped. Its stdout and stderr are piped.
    pub fn spawn(&mut self, ns: &str, args: &[&str], lifetime: Duration) -> Bg {
        let secs = lifetime.as_secs().max(1).to_string();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "timeout", "--signal=KILL", &secs])
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in namespace");
        Bg {
            child: Some(child),
            stderr: None,
        }
    }

    /// Keeps a background process so that the LAN kills it on drop.
    pub fn adopt(&mut self, mut bg: Bg) {
        if let Some(c) = bg.child.take() {
            self.children.push(c);
        }
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// A background process (killed on drop unless waited for).
pub struct Bg {
    child: Option<Child>,
    stderr: Option<mpsc::Receiver<Event>>,
}

enum Event {
    Hit,
    Done(String),
}

impl Bg {
    /// The process id (of `timeout`, whose child is the command).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits until a line of stderr contains `needle` (or `limit`
    /// passes). Stderr goes on being collected for [`Bg::finish`].
    pub fn wait_stderr(&mut self, needle: &str, limit: Duration) -> Result<(), String> {
        let pipe = self
            .child
            .as_mut()
            .and_then(|c| c.stderr.take())
            .ok_or("stderr already taken")?;
        let (tx, rx) = mpsc::channel();
        let want = needle.to_string();
        std::thread::spawn(move || {
            let mut all = String::new();
            let mut hit = false;
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if !hit && line.contains(&want) {
                    hit = true;
                    let _ = tx.send(Event::Hit);
                }
                all.push_str(&line);
                all.push('\n');
            }
            let _ = tx.send(Event::Done(all));
        });
        let r = match rx.recv_timeout(limit) {
            Ok(Event::Hit) => Ok(()),
            Ok(Event::Done(all)) => Err(format!("stderr ended without {needle:?}: {all}")),
            Err(_) => Err(format!("timed out waiting for {needle:?} on stderr")),
        };
        self.stderr = Some(rx);
        r
    }

    /// Sends a signal (by name, e.g. "INT") to `timeout`, which passes
    /// INT and TERM on to the command.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .output();
    }

    /// Waits for the process and returns its output (stderr included,
    /// also when [`Bg::wait_stderr`] was reading it).
    pub fn finish(mut self) -> Output {
        let mut out = self
            .child
            .take()
            .expect("not finished yet")
            .wait_with_output()
            .expect("wait");
        if let Some(rx) = self.stderr.take() {
            while let Ok(ev) = rx.recv_timeout(Duration::from_secs(10)) {
                if let Event::Done(all) = ev {
                    out.stderr = all.into_bytes();
                    break;
                }
            }
        }
        out
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
