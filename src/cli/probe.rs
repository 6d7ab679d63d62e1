//! `serve`, `client`, `file`, `exec`, `ping`, `bench`.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use super::args::{
    BenchArgs, ClientArgs, ExecArgs, FileCmd, LimitArgs, PingArgs, ServeCmd, Transport,
};
use super::written;
use crate::output::probe::{event_line, interval_line, reply_line, Listing};
use crate::output::{self, emit, ndjson, Format, Options};
use crate::probe::client::{self, FrameClient, Session};
use crate::probe::{self, bench, ping, server, udp, Event, Limits, Mode};
use crate::{Error, Result};

fn seconds(what: &str, s: f64) -> Result<Duration> {
    if s.is_finite() && s > 0.0 && s < 1e9 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(Error::Usage(format!(
            "{what} must be a positive number of seconds, not {s}"
        )))
    }
}

fn limits(a: &LimitArgs) -> Result<Limits> {
    if !(2..=crate::wire::frame::MAX_HEADER).contains(&a.max_header) {
        return Err(Error::Usage(format!(
            "--max-header must be 2..=65536, not {}",
            a.max_header
        )));
    }
    if a.max_conns == 0 {
        return Err(Error::Usage("--max-conns must be at least 1".into()));
    }
    Ok(Limits {
        max_header: a.max_header,
        max_echo: a.max_echo,
        max_file: a.max_file,
        max_conns: a.max_conns,
        max_per_addr: a.max_conns_per_addr,
        idle: seconds("--idle-timeout", a.idle_timeout)?,
        header_timeout: seconds("--header-timeout", a.header_timeout)?,
        min_rate: a.min_rate,
        exec_timeout: seconds("--exec-timeout", a.exec_timeout)?,
        exec_output: a.exec_output,
        grace: seconds("--grace", a.grace)?,
    })
}

/// A stop flag set by Ctrl-C (and SIGTERM).
fn stop_flag(what: &str) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)) {
        output::warn(&format!("warning: Ctrl-C will not end {what} cleanly: {e}"));
    }
    stop
}

pub(super) fn serve(cmd: ServeCmd, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let fd_limit = crate::scan::raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the runtime", e))?;
    let (tx, rx) = mpsc::channel::<Event>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = match cmd {
        ServeCmd::Tcp {
            bind,
            mode,
            root,
            allow_exec,
            backlog,
            limits: l,
        } => {
            let limits = limits(&l)?;
            if mode != Mode::Frame && (root.is_some() || !allow_exec.is_empty()) {
                return Err(Error::Usage(
                    "--root and --allow-exec need --mode frame".into(),
                ));
            }
            if (limits.max_conns as u64).saturating_add(32) > fd_limit {
                output::warn(&format!(
                    "warning: --max-conns {} is near the open-files limit ({fd_limit}); raise it with ulimit -n",
                    limits.max_conns
                ));
            }
            let cfg = server::TcpConfig {
                bind: probe::resolve(&bind)?,
                backlog,
                mode,
                root,
                allow_exec,
                limits,
            };
            let listener = rt.block_on(async { server::bind(cfg.bind, cfg.backlog) })?;
            rt.spawn(server::serve(listener, cfg, stop_rx, tx))
        }
        ServeCmd::Udp {
            bind,
            mode,
            max_datagram,
        } => {
            if mode == Mode::Frame {
                return Err(Error::Usage(
                    "the frame protocol runs over TCP; serve udp has echo, upper and discard"
                        .into(),
                ));
            }
            let addr = probe::resolve(&bind)?;
            let sock = rt.block_on(async { udp::bind(addr) })?;
            rt.spawn(udp::serve(sock, mode, max_datagram, stop_rx, tx))
        }
    };
    rt.spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => drop(tokio::signal::ctrl_c().await),
        }
        let _ = stop_tx.send(true);
    });
    // events until the server task ends and drops its sender
    let print = |e: &Event, out: &mut dyn Write| -> Result<()> {
        match opts.format {
            Format::Json => {
                written(ndjson(e, out))?;
                written(out.flush())
            }
            Format::Human => {
                if let Some(line) = event_line(e) {
                    if !opts.quiet || matches!(e, Event::Listening { .. }) {
                        output::note(&line);
                    }
                }
                Ok(())
            }
        }
    };
    while let Ok(e) = rx.recv() {
        print(&e, out)?;
    }
    let summary = rt
        .block_on(task)
        .map_err(|e| Error::Protocol(format!("the server failed: {e}")))??;
    print(&Event::Summary(summary), out)?;
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(0)
}

fn timeout_of(s: f64) -> Result<Duration> {
    seconds("--timeout", s)
}

/// Writes a reply for a person: as it is, with a newline added when it
/// lacks one.
fn show_reply(reply: &[u8], out: &mut dyn Write) -> Result<()> {
    written(out.write_all(reply))?;
    if !reply.ends_with(b"\n") {
        written(out.write_all(b"\n"))?;
    }
    written(out.flush())
}

#[derive(serde::Serialize)]
struct ClientReply {
    target: String,
    sent: usize,
    /// The reply as text (invalid UTF-8 replaced); null when none came.
    reply: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_bytes: Option<usize>,
}

fn json_reply(target: &str, sent: usize, reply: Option<&[u8]>, out: &mut dyn Write) -> Result<()> {
    let v = ClientReply {
        target: target.to_owned(),
        sent,
        reply: reply.map(|r| String::from_utf8_lossy(r).into_owned()),
        reply_bytes: reply.map(<[u8]>::len),
    };
    written(ndjson(&v, out))
}

pub(super) fn client(args: &ClientArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let addr = probe::resolve(&args.target)?;
    let timeout = timeout_of(args.timeout)?;
    if args.frame && args.transport == Transport::Udp {
        return Err(Error::Usage(
            "--frame is for TCP (the frame protocol runs over TCP)".into(),
        ));
    }
    let json = opts.format == Format::Json;
    // one message from the command line
    if let Some(msg) = &args.message {
        let reply = match args.transport {
            Transport::Tcp if args.frame => {
                let mut c = FrameClient::connect(addr, timeout)?;
                Some(c.echo(msg.as_bytes(), args.upper)?)
            }
            Transport::Tcp => Some(client::tcp_once(addr, msg.as_bytes(), timeout)?),
            Transport::Udp => client::udp_once(addr, msg.as_bytes(), timeout)?,
        };
        return answered(args, opts, msg.len(), reply.as_deref(), timeout, out);
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return prompt(args, addr, timeout, out);
    }
    // stdin piped in
    match args.transport {
        Transport::Tcp if args.frame => {
            let mut c = FrameClient::connect(addr, timeout)?;
            for line in stdin.lock().lines() {
                let line = line.map_err(|e| Error::io("reading stdin", e))?;
                let reply = c.echo(line.as_bytes(), args.upper)?;
                if json {
                    json_reply(&args.target, line.len(), Some(&reply), out)?;
                } else {
                    show_reply(&reply, out)?;
                }
            }
            Ok(0)
        }
        Transport::Tcp => {
            client::tcp_pipe(addr, io::stdin(), out, timeout)?;
            written(out.flush())?;
            Ok(0)
        }
        Transport::Udp => {
            let mut msg = Vec::new();
            stdin
                .lock()
                .take(probe::udp::MAX_DATAGRAM as u64 + 1)
                .read_to_end(&mut msg)
                .map_err(|e| Error::io("reading stdin", e))?;
            let reply = client::udp_once(addr, &msg, timeout)?;
            answered(args, opts, msg.len(), reply.as_deref(), timeout, out)
        }
    }
}

/// Shows one message's reply (or says none came: exit 1).
fn answered(
    args: &ClientArgs,
    opts: &Options,
    sent: usize,
    reply: Option<&[u8]>,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<u8> {
    if opts.format == Format::Json {
        json_reply(&args.target, sent, reply, out)?;
    } else if let Some(r) = reply {
        show_reply(r, out)?;
    }
    if reply.is_some() {
        return Ok(0);
    }
    output::warn(&format!(
        "no reply from {} within {:.1} s",
        args.target,
        timeout.as_secs_f64()
    ));
    Ok(1)
}

/// The prompt loop: a line typed, a reply shown; empty lines are not sent
/// (zero bytes on TCP send nothing, and the reply would never come).
fn prompt(
    args: &ClientArgs,
    addr: std::net::SocketAddr,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<u8> {
    enum Peer {
        Frame(FrameClient),
        Tcp(Session),
        Udp,
    }
    let mut peer = match args.transport {
        Transport::Tcp if args.frame => Peer::Frame(FrameClient::connect(addr, timeout)?),
        Transport::Tcp => Peer::Tcp(Session::connect(addr, timeout)?),
        Transport::Udp => Peer::Udp,
    };
    output::note(&format!(
        "connected to {addr}; type a message, Ctrl-D to end"
    ));
    let stdin = io::stdin();
    loop {
        output::prompt("> ");
        let mut line = String::new();
        let n = stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("reading stdin", e))?;
        if n == 0 {
            output::note("");
            return Ok(0);
        }
        let msg = line.trim_end_matches(['\r', '\n']);
        if msg.is_empty() {
            continue;
        }
        let reply = match &mut peer {
            Peer::Frame(c) => Some(c.echo(msg.as_bytes(), args.upper)?),
            Peer::Tcp(s) => match s.exchange(format!("{msg}\n").as_bytes())? {
                Some(r) => Some(r),
                None => {
                    output::note(&format!("{addr} closed the connection"));
                    return Ok(0);
                }
            },
            Peer::Udp => client::udp_once(addr, msg.as_bytes(), timeout)?,
        };
        match reply {
            Some(r) if r.is_empty() => output::note("(no reply)"),
            Some(r) => show_reply(&r, out)?,
            None => output::note(&format!("(no reply within {:.1} s)", timeout.as_secs_f64())),
        }
    }
}

/// Runs a transfer with a progress bar on a terminal (its length comes
/// with the first progress report), then shows the result.
fn with_bar(
    opts: &Options,
    out: &mut dyn Write,
    transfer: impl FnOnce(client::Progress<'_>) -> Result<client::Transfer>,
) -> Result<u8> {
    let bar = output::progress(
        opts,
        0,
        "{msg:9} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    );
    let mut progress = |phase: &'static str, done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_message(phase);
            b.set_position(done);
        }
    };
    let t = transfer(&mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    written(emit(&t?, opts, out))?;
    Ok(0)
}

pub(super) fn file(cmd: FileCmd, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    match cmd {
        FileCmd::Put {
            target,
            file,
            name,
            overwrite,
            timeout,
        } => {
            let addr = probe::resolve(&target)?;
            let name = match name {
                Some(n) => n,
                None => file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| {
                        Error::Usage(format!("{} has no file name; give --as", file.display()))
                    })?,
            };
            probe::files::components(&name)
                .map_err(|e| Error::Usage(format!("--as {name:?}: {}", e.message)))?;
            let timeout = timeout_of(timeout)?;
            with_bar(opts, out, |progress| {
                client::put(addr, &file, &name, overwrite, timeout, progress)
            })
        }
        FileCmd::Get {
            target,
            name,
            output: dest,
            timeout,
        } => {
            let addr = probe::resolve(&target)?;
            let dest = dest.unwrap_or_else(|| {
                PathBuf::from(
                    name.rsplit('/')
                        .next()
                        .filter(|s| !s.is_empty())
                        .unwrap_or("download"),
                )
            });
            let timeout = timeout_of(timeout)?;
            with_bar(opts, out, |progress| {
                client::get(addr, &name, Path::new(&dest), timeout, progress)
            })
        }
        FileCmd::Ls { target, timeout } => {
            let addr = probe::resolve(&target)?;
            let mut c = FrameClient::connect(addr, timeout_of(timeout)?)?;
            written(emit(&Listing(c.list()?), opts, out))?;
            Ok(0)
        }
    }
}

pub(super) fn exec(args: &ExecArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let addr = probe::resolve(&args.target)?;
    let (cmd, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::Usage("give the command after --".into()))?;
    let mut c = FrameClient::connect(addr, timeout_of(args.timeout)?)?;
    let r = c.exec(cmd, rest)?;
    if opts.format == Format::Json {
        written(ndjson(&r, out))?;
    } else {
        written(out.write_all(&r.stdout))?;
        written(out.flush())?;
        drop(io::stderr().write_all(&r.stderr));
        if r.truncated {
            output::warn("the server cut the output at its cap (--exec-output)");
        }
    }
    Ok(match (r.exit_code, r.signal) {
        (Some(c), _) => u8::try_from(c & 0xff).unwrap_or(1),
        (None, Some(sig)) => u8::try_from((128 + sig) & 0xff).unwrap_or(1),
        (None, None) => 1,
    })
}

pub(super) fn ping(args: &PingArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let addr = probe::resolve(&args.target)?;
    let popts = ping::Options {
        count: args.count,
        interval: seconds("--interval", args.interval)?,
        timeout: seconds("--timeout", args.timeout)?,
    };
    let stop = stop_flag("ping");
    let human = opts.format == Format::Human;
    if human && !opts.quiet {
        written(writeln!(out, "{} ping {addr}", args.kind.as_str()).map(|()| ()))?;
        written(out.flush())?;
    }
    let target = args.target.clone();
    let mut failed = None;
    let report = ping::run(args.kind, addr, popts, &stop, &mut |r| {
        if human && !opts.quiet && failed.is_none() {
            let line = reply_line(&target, r);
            if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                failed = Some(e);
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(Error::io("writing output", e));
    }
    written(emit(&report, opts, out))?;
    Ok(if report.received == 0 { 1 } else { 0 })
}

pub(super) fn bench(args: &BenchArgs, opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let addr = probe::resolve(&args.target)?;
    let size = args.size.unwrap_or(if args.rr { 64 } else { 1 << 20 });
    if size == 0 {
        return Err(Error::Usage("--size must be at least 1".into()));
    }
    if args.streams == 0 || args.streams > 10_000 {
        return Err(Error::Usage("--streams must be 1..=10000".into()));
    }
    crate::scan::raise_fd_limit();
    let bopts = bench::Options {
        duration: seconds("--duration", args.duration)?,
        streams: args.streams,
        size,
        reverse: args.reverse,
        name: args.name.clone(),
        rr: args.rr,
        interval: seconds("--interval", args.interval)?,
        timeout: Duration::from_secs(5),
    };
    let stop = stop_flag("the benchmark");
    let human = opts.format == Format::Human;
    if human && !opts.quiet {
        written(writeln!(
            out,
            "bench {addr}: {} for {:.1} s, {} stream{}",
            if args.rr {
                "request/response"
            } else if args.reverse {
                "receiving (get)"
            } else {
                "sending (discard)"
            },
            bopts.duration.as_secs_f64(),
            args.streams,
            if args.streams == 1 { "" } else { "s" }
        ))?;
        written(out.flush())?;
    }
    let mut failed = None;
    let report = bench::run(addr, &bopts, &stop, &mut |iv| {
        if human && !opts.quiet && failed.is_none() {
            if let Err(e) = writeln!(out, "{}", interval_line(iv)).and_then(|()| out.flush()) {
                failed = Some(e);
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(Error::io("writing output", e));
    }
    written(emit(&report, opts, out))?;
    Ok(0)
}
