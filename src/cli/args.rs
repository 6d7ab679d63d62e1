//! The command line, as clap derive definitions. Help text lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

/// Network diagnostics and packet inspection in one binary.
///
/// Every command prints a human view by default and JSON with --json.
/// Exit status: 0 success or yes, 1 a clean "no" (outside, different
/// subnet, nothing matched), 2 usage error, 3 missing privilege, 4 I/O,
/// network or protocol failure.
#[derive(Debug, Parser)]
#[command(
    name = "netray",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print JSON (one document; NDJSON, one object per line, for streams).
    #[arg(long, global = true)]
    pub json: bool,

    /// When to use colour in the human view. `auto` colours a terminal
    /// unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print only the bare result (for scripts that do not want JSON).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail; repeat for even more. (In `subnet filter`, -v inverts
    /// the match, as in grep.)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Subnet arithmetic: calculator, same-subnet check, split, summarize,
    /// exclude, ranges, and a grepcidr-style filter.
    #[command(subcommand)]
    Subnet(SubnetCmd),

    /// Decode a capture (pcap or pcapng): one line per packet like
    /// `tcpdump -n`, a layer tree with -v, hex with -x, NDJSON with --json.
    ///
    /// Examples: netray decode trace.pcap -c 20;
    /// netray decode trace.pcapng -f 'tcp and port 443' -v;
    /// netray --json decode - < trace.pcap | jq .tcp
    Decode(DecodeArgs),

    /// Capture statistics: counts and rates, protocol hierarchy,
    /// conversations (IP, TCP, UDP), endpoints, TCP connection outcomes,
    /// ARP activity.
    ///
    /// Example: netray stats trace.pcap --top 10
    Stats(StatsArgs),

    /// The reassembled payload of one TCP connection, in order, both
    /// directions marked: by stream index (as `stats` numbers TCP
    /// conversations) or by its two endpoints.
    ///
    /// Examples: netray follow trace.pcap 0;
    /// netray follow trace.pcap 192.0.2.1:40000 198.51.100.2:80 --hex
    Follow(FollowArgs),

    /// The host's network interfaces: name, index, MAC and its vendor,
    /// addresses with prefix, MTU and flags.
    ///
    /// Examples: netray iface; netray iface lan0 --json
    Iface {
        /// Show only this interface.
        name: Option<String>,
    },

    /// How a packet to an address leaves this host: the routing table's
    /// longest-prefix match, the mask AND that makes a target on-link or
    /// not, and whom ARP (or IPv6 neighbour discovery) must resolve: the
    /// target itself or the gateway. Exit 1 when there is no route.
    ///
    /// Examples: netray route 198.51.100.10; netray route 2001:db8::1
    Route {
        /// The destination address.
        target: String,
    },

    /// Live capture from an interface (needs CAP_NET_RAW): decode and
    /// print like `decode`, and/or write a pcap or pcapng file. Ends after
    /// -c packets, --duration, or Ctrl-C, with a summary on stderr.
    ///
    /// Examples: sudo netray capture -i eth0 -c 20 -f 'tcp port 443';
    /// sudo netray capture -i lo -w out.pcap --duration 10
    Capture(CaptureArgs),

    /// ARP over raw sockets (needs CAP_NET_RAW): resolve an address to
    /// its MAC, sweep a subnet, detect duplicate addresses, watch for
    /// spoofing.
    #[command(subcommand)]
    Arp(ArpCmd),

    /// Probe ports: TCP connect (default, no privilege), UDP (--udp) or
    /// SYN (--syn, needs CAP_NET_RAW); open / closed / filtered, as nmap
    /// names them, with service names and optional banners. Exit 0 when
    /// the scan ran.
    ///
    /// Examples: netray scan 127.0.0.1 -p -; netray scan 192.0.2.0/24 -p
    /// 22,80,443 --banner; netray scan host.example --top 100 --udp
    Scan(ScanArgs),

    /// DNS: lookups through the resolver, reverse lookups, and iterative
    /// traces from the root that show every referral.
    #[command(subcommand)]
    Dns(DnsCmd),

    /// Probe servers: TCP (frame protocol v1, echo, upper, discard) and
    /// UDP (echo, upper, discard). Every connection is served at once;
    /// one line per connection on stderr (NDJSON events on stdout with
    /// --json); Ctrl-C stops accepting, lets transfers finish within
    /// --grace, and prints a summary.
    #[command(subcommand)]
    Serve(ServeCmd),

    /// A raw client: send one message and print the reply; on a terminal,
    /// a prompt loop; stdin piped in is sent as it is (like nc).
    ///
    /// Examples: netray client tcp 127.0.0.1:7000 hello;
    /// netray client udp 127.0.0.1:7000 hello; echo hi | netray client tcp
    /// 127.0.0.1:7000
    Client(ClientArgs),

    /// File transfer with a frame server (`serve tcp --root DIR`): put,
    /// get and ls, streamed, SHA-256 checked on both ends.
    #[command(subcommand)]
    File(FileCmd),

    /// Run a command on a frame server that allows it (`serve tcp
    /// --allow-exec CMD`): its stdout and stderr printed apart, and its
    /// exit code as netray's.
    ///
    /// Example: netray exec 127.0.0.1:7000 -- uname -a
    Exec(ExecArgs),

    /// Round-trip times, like ping: TCP connect time, UDP echo (sequence
    /// numbers show loss, duplicates, reordering), or frame ping.
    /// min/avg/max/mdev and loss at the end; exit 1 when nothing answered.
    ///
    /// Examples: netray ping tcp 127.0.0.1:22 -c 5;
    /// netray ping udp 127.0.0.1:7000 -i 0.2
    Ping(PingArgs),

    /// Throughput against a frame server, like iperf3: `discard` frames
    /// (or its `get` with --reverse), per interval and in total; --rr
    /// measures request/response round trips against an echo server.
    ///
    /// Examples: netray bench 127.0.0.1:7000 --duration 5 --streams 2;
    /// netray bench 127.0.0.1:7001 --rr --streams 100 --size 64
    Bench(BenchArgs),

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Example: netray completions bash > /etc/bash_completion.d/netray
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },

    /// Print the man page (roff) to stdout.
    ///
    /// Example: netray manpage > netray.1 && man ./netray.1
    Manpage,
}

/// `netray subnet ...`
#[derive(Debug, Subcommand)]
pub enum SubnetCmd {
    /// Network, broadcast, mask, wildcard, host range and counts, class,
    /// scope and a binary view of an address and its network.
    ///
    /// Accepts 172.16.10.1/24, 172.16.10.1/255.255.255.0,
    /// "172.16.10.1 255.255.255.0" (one or two arguments), 2001:db8::1/64,
    /// or a bare address (a host route). /31 and /32 (and /127, /128) count
    /// every address as usable (RFC 3021).
    Calc {
        /// ADDR/PREFIX, ADDR/MASK, or ADDR MASK.
        #[arg(required = true, num_args = 1..=2, value_name = "ADDR[/PREFIX|/MASK] [MASK]")]
        input: Vec<String>,
    },

    /// Are two addresses on the same subnet? Shows each address AND the
    /// mask in binary. Exit 0 same, 1 different.
    Same {
        /// The first address (may carry /PREFIX instead of --prefix).
        a: String,
        /// The second address.
        b: String,
        /// Prefix length of the subnet.
        #[arg(short, long, conflicts_with = "mask")]
        prefix: Option<String>,
        /// Netmask of the subnet (dotted, or IPv6 form).
        #[arg(short, long)]
        mask: Option<String>,
    },

    /// Split a network into subnets of a longer prefix, or into N parts
    /// (rounded up to a power of two).
    Split {
        /// The network to split.
        cidr: String,
        /// The new prefix length.
        #[arg(
            short,
            long,
            required_unless_present = "count",
            conflicts_with = "count"
        )]
        prefix: Option<u16>,
        /// How many subnets (rounded up to a power of two).
        #[arg(short = 'n', long)]
        count: Option<u128>,
        /// Print more than --limit subnets.
        #[arg(long)]
        force: bool,
        /// How many subnets are printed without --force.
        #[arg(long, default_value_t = 65_536)]
        limit: u128,
    },

    /// Aggregate CIDRs, addresses and A-B ranges into the fewest CIDRs that
    /// cover exactly the same addresses. Reads stdin when no argument is
    /// given (whitespace or comma separated, # comments).
    #[command(alias = "aggregate", alias = "merge")]
    Summarize {
        /// CIDRs, addresses or A-B ranges; `-` reads stdin.
        inputs: Vec<String>,
    },

    /// What is left of a network after removing others, as the fewest
    /// CIDRs (IPv4 and IPv6).
    Exclude {
        /// The network(s) to start from (CIDR, address or A-B range).
        #[arg(required = true)]
        cidr: Vec<String>,
        /// What to remove (repeat, or separate with commas).
        #[arg(short = 'x', long, required = true, num_args = 1.., value_delimiter = ',')]
        minus: Vec<String>,
    },

    /// Is an address inside a network? Exit 0 inside, 1 outside. An
    /// IPv4-mapped IPv6 address is checked as its IPv4 address.
    Contains {
        /// The network.
        cidr: String,
        /// The address.
        ip: String,
    },

    /// A range of addresses as the fewest CIDRs: `A-B`, `A B` or `A - B`.
    Range {
        /// The range.
        #[arg(required = true, num_args = 1..=3, value_name = "A-B")]
        range: Vec<String>,
    },

    /// Print lines (from files or stdin) that hold an address inside any of
    /// the networks, like grepcidr. Exit 0 when a line was printed, 1 when
    /// none.
    ///
    /// The leading arguments that parse as networks, addresses or A-B
    /// ranges are patterns (several may share one argument, separated by
    /// commas or spaces); the rest are files. With -e or -f every argument
    /// is a file. Addresses are found anywhere in a line; see
    /// docs/subnet.md for the exact rules (those of grepcidr 2.0).
    Filter(FilterArgs),
}

/// `netray subnet filter` options (grepcidr's letters).
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Patterns, then files (`-` is stdin; none reads stdin).
    #[arg(value_name = "CIDR|FILE")]
    pub args: Vec<String>,
    /// Invert: print lines whose addresses are all outside (the global -v
    /// means this here, as in grep and grepcidr).
    #[arg(long = "invert-match")]
    pub invert: bool,
    /// Like -v, and also print lines that hold no address at all.
    #[arg(short = 'i', long)]
    pub include_no_address: bool,
    /// Only look at an address at the start of each line.
    #[arg(short = 'x', long)]
    pub strict: bool,
    /// Print only the count of selected lines.
    #[arg(short = 'c', long)]
    pub count: bool,
    /// A pattern (repeatable); all positional arguments are then files.
    #[arg(short = 'e', long = "pattern", value_name = "CIDR")]
    pub patterns: Vec<String>,
    /// Read patterns from a file, one or more per line, # comments.
    #[arg(short = 'f', long = "pattern-file", value_name = "FILE")]
    pub pattern_files: Vec<PathBuf>,
}

/// How `decode` shows time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeArg {
    /// Time of day (UTC).
    Abs,
    /// Seconds since the first packet.
    Rel,
    /// Seconds since the previous packet.
    Delta,
    /// Seconds since the epoch.
    Epoch,
}

/// `netray decode` options.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The capture file (pcap or pcapng, any byte order); `-` reads stdin.
    pub file: String,
    /// Also print each packet's bytes in hex and ASCII.
    #[arg(short = 'x', long = "hex")]
    pub hex: bool,
    /// Stop after printing this many packets.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Show only packets matching a filter (pcap-filter subset: host, net,
    /// port, tcp, udp, arp, vlan, ... with and/or/not).
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// How the time column is shown.
    #[arg(long, value_enum, default_value_t = TimeArg::Abs)]
    pub time: TimeArg,
    /// Skip this many packets at the start of the file.
    #[arg(long, alias = "offset", value_name = "N", default_value_t = 0)]
    pub skip: u64,
    /// A file that ends inside a record is an error (exit 4), not a warning.
    #[arg(long)]
    pub strict: bool,
}

/// `netray arp ...`
#[derive(Debug, Subcommand)]
pub enum ArpCmd {
    /// Ask who has an address, like arping: MAC, vendor, round trip. The
    /// interface and source address come from the routing table; for an
    /// address off the local subnet, says so and resolves the gateway
    /// instead. Exit 1 when nothing answers.
    ///
    /// Examples: netray arp resolve 192.0.2.1; netray arp resolve
    /// 192.0.2.20 -i eth0 -c 5
    Resolve {
        /// The IPv4 address.
        target: String,
        /// Interface (default: the one the route to the target uses).
        #[arg(short = 'i', long = "interface", value_name = "IFACE")]
        interface: Option<String>,
        /// How long each request waits for a reply, in milliseconds.
        #[arg(long, default_value_t = 1000, value_name = "MS")]
        timeout: u64,
        /// Requests to repeat when one gets no reply.
        #[arg(long, default_value_t = 2, value_name = "N")]
        retries: u32,
        /// Resolve this many times (arping -c), with min/avg/max.
        #[arg(short = 'c', long = "count", default_value_t = 1, value_name = "N")]
        count: u32,
        /// Time between repeated resolutions, in milliseconds.
        #[arg(long, default_value_t = 1000, value_name = "MS")]
        interval: u64,
    },

    /// Sweep a subnet (default: the interface's own) with ARP requests at
    /// a steady rate, retrying the silent addresses: every host that
    /// answers with MAC, vendor and round trip, duplicates flagged.
    /// Sorted by address; NDJSON (one host per line) with --json.
    ///
    /// Examples: netray arp scan; netray arp scan 192.0.2.0/24 -i eth0
    /// --rate 500; netray arp scan --ipv6
    Scan {
        /// The addresses to sweep (CIDR, or a single address).
        cidr: Option<String>,
        /// Interface (default: the one whose subnet holds the CIDR, or
        /// the default route's).
        #[arg(short = 'i', long = "interface", value_name = "IFACE")]
        interface: Option<String>,
        /// Requests per second.
        #[arg(long, default_value_t = 1000, value_name = "PPS")]
        rate: u32,
        /// Extra rounds for silent addresses.
        #[arg(long, default_value_t = 1, value_name = "N")]
        retries: u32,
        /// The longest a round waits for late replies, in milliseconds.
        #[arg(long, default_value_t = 500, value_name = "MS")]
        timeout: u64,
        /// Sweep more than 65536 addresses.
        #[arg(long)]
        force: bool,
        /// Also find IPv6 neighbours (an ICMPv6 echo to all nodes, then a
        /// neighbour solicitation to each that answered).
        #[arg(long = "ipv6")]
        ipv6: bool,
    },

    /// RFC 5227 duplicate address detection: ARP probes from 0.0.0.0 ask
    /// whether anyone uses the address without disturbing any cache.
    /// Exit 0 when it is free, 1 (with the MACs) when it is taken.
    ///
    /// Example: netray arp check 192.0.2.50 -i eth0
    Check {
        /// The IPv4 address.
        target: String,
        /// Interface (default: the one whose subnet holds the address).
        #[arg(short = 'i', long = "interface", value_name = "IFACE")]
        interface: Option<String>,
        /// Probes to send.
        #[arg(long, default_value_t = 3, value_name = "N")]
        probes: u32,
        /// Time between probes, in milliseconds.
        #[arg(long, default_value_t = 500, value_name = "MS")]
        interval: u64,
        /// Time to listen after the last probe, in milliseconds.
        #[arg(long, default_value_t = 1000, value_name = "MS")]
        wait: u64,
    },

    /// Passive monitor like arpwatch, live or over a capture: new
    /// stations, MAC changes and flip-flops, gratuitous ARP, unsolicited
    /// replies, one MAC claiming many addresses, and pairs that contradict
    /// a baseline. Exit 1 when a warning or alert was raised.
    ///
    /// Examples: netray arp watch -r trace.pcap --baseline known.txt;
    /// sudo netray arp watch -i eth0 --json
    Watch {
        /// Interface to watch live.
        #[arg(
            short = 'i',
            long = "interface",
            value_name = "IFACE",
            conflicts_with = "read",
            required_unless_present = "read"
        )]
        interface: Option<String>,
        /// A capture file to read instead.
        #[arg(short = 'r', long = "read", value_name = "CAPTURE")]
        read: Option<String>,
        /// Known IP/MAC pairs, `IP MAC` per line: they raise nothing, and
        /// a known address at another MAC is an alert.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// A MAC claiming more addresses than this is reported.
        #[arg(long, default_value_t = 4, value_name = "N")]
        many: usize,
        /// Live: stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<f64>,
        /// Show only warnings and alerts, not info events (new stations,
        /// gratuitous ARP).
        #[arg(long)]
        alerts_only: bool,
    },
}

/// Where a lookup asks.
#[derive(Debug, Args)]
pub struct ResolverArgs {
    /// Ask this server (ADDR or ADDR:PORT, [IPv6]:PORT) instead of the
    /// system's resolver.
    #[arg(long, value_name = "ADDR[:PORT]", conflicts_with = "resolv_conf")]
    pub server: Option<String>,
    /// Read the servers from this file instead of /etc/resolv.conf.
    #[arg(long, value_name = "FILE")]
    pub resolv_conf: Option<PathBuf>,
    /// Use TCP.
    #[arg(long)]
    pub tcp: bool,
    /// Per-query timeout in milliseconds.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub timeout: u64,
}

/// `netray dns ...`
#[derive(Debug, Subcommand)]
pub enum DnsCmd {
    /// Look a name up through a resolver (the system's, --resolv-conf, or
    /// --server): each record with its TTL, the server, the time. Several
    /// types are asked at once; ANY asks the common types one by one.
    /// --system also asks the operating system (getaddrinfo: /etc/hosts,
    /// nsswitch) and shows where the two disagree. NXDOMAIN is exit 1.
    ///
    /// Examples: netray dns lookup example.com A AAAA MX --server
    /// 192.0.2.53; netray dns lookup localhost --system --short
    Lookup {
        /// The name.
        name: String,
        /// Record types (A, AAAA, CNAME, MX, NS, SOA, TXT, PTR, SRV, CAA,
        /// ANY); default A and AAAA.
        types: Vec<String>,
        #[command(flatten)]
        resolver: ResolverArgs,
        /// Only the record data, one per line (dig +short).
        #[arg(long)]
        short: bool,
        /// Also ask getaddrinfo and compare.
        #[arg(long)]
        system: bool,
    },

    /// The name of an address (PTR), with the in-addr.arpa / ip6.arpa
    /// name built for you.
    ///
    /// Example: netray dns reverse 192.0.2.1 --server 192.0.2.53
    Reverse {
        /// IPv4 or IPv6 address.
        ip: String,
        #[command(flatten)]
        resolver: ResolverArgs,
        /// Only the names.
        #[arg(long)]
        short: bool,
    },

    /// Resolve iteratively from the root, as a resolver does, showing
    /// every step: the zone asked, the server, the round trip, the
    /// referral (NS set and glue) or the answer. Follows glueless
    /// delegations, CNAMEs, truncation (TCP), lame and dead servers
    /// (with a hedge to the next server). NXDOMAIN or NODATA is exit 1.
    ///
    /// Examples: netray dns trace www.example.com; netray dns trace
    /// example.com MX --root 127.0.0.2 --port 5353
    Trace {
        /// The name.
        name: String,
        /// The record type (default A).
        #[arg(default_value = "A")]
        qtype: String,
        /// Start from these servers instead of the IANA root hints.
        #[arg(long = "root", value_name = "ADDR[:PORT]")]
        roots: Vec<String>,
        /// The port every server is asked on (for private hierarchies).
        #[arg(long, default_value_t = 53)]
        port: u16,
        /// Ask over TCP from the start.
        #[arg(long)]
        tcp: bool,
        /// The longest wait for one server, in milliseconds.
        #[arg(long, default_value_t = 2000, value_name = "MS")]
        timeout: u64,
        /// Ask the next server too when one has not answered after this
        /// many milliseconds.
        #[arg(long, default_value_t = 300, value_name = "MS")]
        hedge: u64,
    },
}

/// `netray scan` options.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Hosts: addresses, CIDRs, ranges (192.0.2.1-20, A-B) or names.
    #[arg(required = true, value_name = "HOST|CIDR|RANGE")]
    pub targets: Vec<String>,
    /// Ports: 22,80,443 or 1-1024 or `-` for all 65535 (default: the
    /// common ports of netray's table).
    #[arg(
        short = 'p',
        long = "ports",
        value_name = "PORTS",
        allow_hyphen_values = true,
        conflicts_with = "top"
    )]
    pub ports: Option<String>,
    /// The N most common ports from netray's table.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// UDP probes instead of TCP.
    #[arg(long, conflicts_with = "syn")]
    pub udp: bool,
    /// SYN (half-open) scan over a raw socket; needs CAP_NET_RAW.
    #[arg(long)]
    pub syn: bool,
    /// Read the first line each open TCP service says (HTTP is asked).
    #[arg(long)]
    pub banner: bool,
    /// How long to wait for a banner, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub banner_wait: u64,
    /// Probes started per second (default: unlimited on loopback, 2000
    /// elsewhere, 500 for UDP).
    #[arg(long, value_name = "N")]
    pub rate: Option<u32>,
    /// The longest wait for an answer, in milliseconds (the first pass
    /// waits less once round trips are known).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub timeout: u64,
    /// Extra tries for ports that did not answer.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub retries: u32,
    /// Probes in flight at once (default: from the open-files limit).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Allow more than 65536 host-port probes.
    #[arg(long)]
    pub force: bool,
}

/// `netray capture` options.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The interface to capture on (see `netray iface`).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,
    /// Write the packets to a capture file (`-` for stdout) instead of
    /// printing them.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<String>,
    /// Write pcapng (nanosecond timestamps) instead of pcap.
    #[arg(long, requires = "write")]
    pub pcapng: bool,
    /// Print packets even while writing a file.
    #[arg(long)]
    pub print: bool,
    /// Stop after this many packets (that match the filter).
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Keep only packets matching a filter (the same syntax as `decode`).
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Keep at most this many bytes of each packet in the file.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: u32,
    /// Put the interface into promiscuous mode (see traffic for other hosts).
    #[arg(long)]
    pub promisc: bool,
    /// Also print each packet's bytes in hex and ASCII.
    #[arg(short = 'x', long = "hex")]
    pub hex: bool,
    /// How the time column is shown.
    #[arg(long, value_enum, default_value_t = TimeArg::Abs)]
    pub time: TimeArg,
}

/// `netray stats` options.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Capture files (`-` reads stdin); a folder or a quoted pattern such
    /// as 'ring/*.pcap' is expanded. Several files are counted as one
    /// capture, read in timestamp order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Read several files one after another instead of in timestamp order.
    #[arg(long)]
    pub no_merge: bool,
    /// Count only packets matching a filter.
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Rows per table in the human view (0 = all).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,
    /// A file that ends inside a record is an error (exit 4).
    #[arg(long)]
    pub strict: bool,
}

/// Which direction `follow` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Both, marked.
    Both,
    /// Client to server only.
    Client,
    /// Server to client only.
    Server,
}

/// `netray follow` options.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// The capture file; `-` reads stdin.
    pub file: String,
    /// A stream index, or two endpoints ADDR:PORT ADDR:PORT ([v6]:port).
    #[arg(required = true, num_args = 1..=2, value_name = "STREAM|ENDPOINT")]
    pub stream: Vec<String>,
    /// Consider only packets matching a filter (stream indexes count the
    /// connections among them).
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Show hex and ASCII instead of text.
    #[arg(long)]
    pub hex: bool,
    /// Write the raw bytes to FILE instead of showing them.
    #[arg(long, value_name = "FILE")]
    pub raw: Option<PathBuf>,
    /// Which direction to show or write.
    #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
    pub direction: DirectionArg,
    /// A file that ends inside a record is an error (exit 4).
    #[arg(long)]
    pub strict: bool,
}

/// Server limits shared by the serve commands.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Largest frame header accepted, in bytes (at most 65536).
    #[arg(long, default_value_t = 65536, value_name = "BYTES")]
    pub max_header: u32,
    /// Largest echo body, in bytes.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub max_echo: u64,
    /// Largest file a put may store, in bytes.
    #[arg(long, default_value_t = 64 << 30, value_name = "BYTES")]
    pub max_file: u64,
    /// Connections served at once; one more is told `busy` and closed.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_conns: usize,
    /// Connections served at once from one address (IPv6: one /64); one
    /// more is told `busy` and closed. 0: no per-address limit.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_conns_per_addr: usize,
    /// Close a connection that sends nothing for this many seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub idle_timeout: f64,
    /// A frame header must arrive whole within this many seconds of its
    /// first byte.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub header_timeout: f64,
    /// Close a connection whose body arrives slower than this many bytes
    /// per second, judged over each 10 s (0: no minimum).
    #[arg(long, default_value_t = 1024, value_name = "BYTES")]
    pub min_rate: u64,
    /// Time limit of an exec, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub exec_timeout: f64,
    /// Bytes kept of each of an exec's stdout and stderr.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub exec_output: usize,
    /// On Ctrl-C/SIGTERM, seconds transfers in flight may go on.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub grace: f64,
}

/// `netray serve`.
#[derive(Debug, Subcommand)]
pub enum ServeCmd {
    /// A TCP server. `frame` speaks the framing protocol v1 (echo, ping,
    /// put/get/list under --root, exec of --allow-exec commands, discard);
    /// `echo` returns bytes as they come, `upper` upper-cases them,
    /// `discard` swallows and counts.
    ///
    /// Examples: netray serve tcp --bind 127.0.0.1:7000 --root /srv/drop;
    /// netray serve tcp --bind [::1]:7001 --mode upper
    Tcp {
        /// Address and port to listen on (port 0: any free port, printed).
        #[arg(long, default_value = "127.0.0.1:7000", value_name = "ADDR:PORT")]
        bind: String,
        /// What to do with connections.
        #[arg(long, value_enum, default_value_t = crate::probe::Mode::Frame)]
        mode: crate::probe::Mode,
        /// Folder for put, get and list (off without it).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// A command exec may run, by name or path, no shell (repeat for
        /// more; exec is off without it).
        #[arg(long = "allow-exec", value_name = "CMD")]
        allow_exec: Vec<String>,
        /// The listen backlog.
        #[arg(long, default_value_t = 1024, value_name = "N")]
        backlog: u32,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// A UDP server: each datagram answered to its sender (echo, upper)
    /// or counted (discard); datagrams over --max-datagram are counted and
    /// not answered.
    ///
    /// Example: netray serve udp --bind 127.0.0.1:7000 --mode echo
    Udp {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:7000", value_name = "ADDR:PORT")]
        bind: String,
        /// What to do with datagrams.
        #[arg(long, value_enum, default_value_t = crate::probe::Mode::Echo)]
        mode: crate::probe::Mode,
        /// Largest datagram answered, in bytes.
        #[arg(long, default_value_t = 65507, value_name = "BYTES")]
        max_datagram: usize,
    },
}

/// TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// A TCP connection.
    Tcp,
    /// UDP datagrams.
    Udp,
}

/// `netray client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// tcp or udp.
    #[arg(value_enum)]
    pub transport: Transport,
    /// The server.
    #[arg(value_name = "HOST:PORT")]
    pub target: String,
    /// The message (without it: stdin, or a prompt on a terminal).
    pub message: Option<String>,
    /// Wrap each message in a v1 echo frame (TCP, against `serve tcp`).
    #[arg(long)]
    pub frame: bool,
    /// With --frame: ask for the upper transform.
    #[arg(long, requires = "frame")]
    pub upper: bool,
    /// Seconds to wait for the connection and the reply.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub timeout: f64,
}

/// `netray file`.
#[derive(Debug, Subcommand)]
pub enum FileCmd {
    /// Upload a file: hashed, streamed, stored under its name only when
    /// the server's SHA-256 matches.
    ///
    /// Example: netray file put 127.0.0.1:7000 report.pdf --as 2026/report.pdf
    Put {
        /// The server.
        #[arg(value_name = "HOST:PORT")]
        target: String,
        /// The local file.
        file: PathBuf,
        /// The name on the server (default: the file's name).
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
        /// Replace a file of that name.
        #[arg(long)]
        overwrite: bool,
        /// Seconds to wait for the connection and answers.
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        timeout: f64,
    },
    /// Download a file; it appears under its final name only once its
    /// SHA-256 matched.
    ///
    /// Example: netray file get 127.0.0.1:7000 2026/report.pdf -o r.pdf
    Get {
        /// The server.
        #[arg(value_name = "HOST:PORT")]
        target: String,
        /// The name on the server.
        name: String,
        /// Where to save it (default: the name's last part, here).
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Seconds to wait for the connection and answers.
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        timeout: f64,
    },
    /// The server's files: name, size, modification time.
    Ls {
        /// The server.
        #[arg(value_name = "HOST:PORT")]
        target: String,
        /// Seconds to wait for the connection and answers.
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        timeout: f64,
    },
}

/// `netray exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The server.
    #[arg(value_name = "HOST:PORT")]
    pub target: String,
    /// The command and its arguments (after --).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// Seconds to wait for the connection and the result.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub timeout: f64,
}

/// `netray ping`.
#[derive(Debug, Args)]
pub struct PingArgs {
    /// tcp (connect time), udp (echo round trip), frame (ping frame).
    #[arg(value_enum)]
    pub kind: crate::probe::ping::Kind,
    /// The server.
    #[arg(value_name = "HOST:PORT")]
    pub target: String,
    /// Probes to send (0: until Ctrl-C).
    #[arg(short = 'c', long, default_value_t = 4, value_name = "N")]
    pub count: u32,
    /// Seconds between probes.
    #[arg(short = 'i', long, default_value_t = 1.0, value_name = "SECONDS")]
    pub interval: f64,
    /// Seconds a probe may take.
    #[arg(short = 'W', long, default_value_t = 2.0, value_name = "SECONDS")]
    pub timeout: f64,
}

/// `netray bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The server (a frame server; an echo server with --rr).
    #[arg(value_name = "HOST:PORT")]
    pub target: String,
    /// Seconds to run.
    #[arg(short = 't', long, default_value_t = 10.0, value_name = "SECONDS")]
    pub duration: f64,
    /// Parallel connections.
    #[arg(short = 'P', long, default_value_t = 1, value_name = "N")]
    pub streams: usize,
    /// Bytes per discard frame (default 1 MiB), or per request with --rr
    /// (default 64).
    #[arg(short = 'l', long, value_name = "BYTES")]
    pub size: Option<usize>,
    /// Receive: the server sends with get (the file --name, or its largest).
    #[arg(short = 'R', long, conflicts_with = "rr")]
    pub reverse: bool,
    /// The file to get with --reverse.
    #[arg(long, requires = "reverse", value_name = "NAME")]
    pub name: Option<String>,
    /// Request/response round trips against an echo (or upper) server.
    #[arg(long)]
    pub rr: bool,
    /// Seconds between interval reports.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub interval: f64,
}
