//! The command-line layer: clap definitions ([`args`]) and one handler per
//! command. A handler validates its arguments, calls one domain function
//! and hands the result to `output`. It returns the exit status of a
//! successful run (0, or 1 for a clean negative answer); failures are
//! [`Error`]s, which carry their own status.

pub mod args;
mod arp;
mod capture;
mod dns;
mod link;
mod live;
mod probe;
mod scan;
mod subnet;

use std::io::{self, IsTerminal, Write};

use clap::{CommandFactory, Parser};

pub use args::Cli;
use args::{ColorChoice, Command};

use crate::output::{Format, Options};
use crate::{Error, Result};

/// Parses the process arguments (clap prints help, version and usage
/// errors itself, with exit status 0 or 2).
pub fn parse() -> Cli {
    Cli::parse()
}

/// Whether to colour, from the flag, NO_COLOR and the terminal.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
        }
    }
}

/// Runs a parsed command line, writing results to `out`. Returns the exit
/// status (0 or 1).
///
/// # Errors
/// Any failure, with its exit status in [`Error::exit_code`].
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<u8> {
    let opts = Options {
        format: if cli.json {
            Format::Json
        } else {
            Format::Human
        },
        color: !cli.json && use_color(cli.color),
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Subnet(cmd) => subnet::run(cmd, &opts, out),
        Command::Decode(args) => capture::decode(&args, &opts, out),
        Command::Stats(args) => capture::stats(&args, &opts, out),
        Command::Follow(args) => capture::follow(&args, &opts, out),
        Command::Arp(cmd) => arp::run(cmd, &opts, out),
        Command::Scan(args) => scan::run(&args, &opts, out),
        Command::Dns(cmd) => dns::run(cmd, &opts, out),
        Command::Iface { name } => link::iface(name.as_deref(), &opts, out),
        Command::Route { target } => link::route(&target, &opts, out),
        Command::Capture(args) => live::capture(&args, &opts, out),
        Command::Serve(cmd) => probe::serve(cmd, &opts, out),
        Command::Client(args) => probe::client(&args, &opts, out),
        Command::File(cmd) => probe::file(cmd, &opts, out),
        Command::Exec(args) => probe::exec(&args, &opts, out),
        Command::Ping(args) => probe::ping(&args, &opts, out),
        Command::Bench(args) => probe::bench(&args, &opts, out),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "netray", out);
            Ok(0)
        }
        Command::Manpage => {
            clap_mangen::Man::new(Cli::command())
                .render(out)
                .map_err(|e| Error::io("writing the man page", e))?;
            Ok(0)
        }
    }
}

/// Maps an output write failure to an [`Error`].
pub(crate) fn written(r: io::Result<()>) -> Result<()> {
    r.map_err(|e| Error::io("writing output", e))
}
