//! The `netray` binary: parse, dispatch, map the outcome to an exit code.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = netray::cli::parse();
    let mut out = BufWriter::with_capacity(1 << 17, io::stdout().lock());
    let result = netray::cli::run(cli, &mut out).and_then(|code| {
        out.flush()
            .map(|()| code)
            .map_err(|e| netray::Error::io("writing output", e))
    });
    match result {
        Ok(code) => ExitCode::from(code),
        // `netray ... | head` closing the pipe early is not a failure
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(netray::Error::Reported(code)) => ExitCode::from(code),
        Err(e) => {
            drop(out.flush());
            // text a peer sent (a server's error message, a name) is escaped
            // whole; our own usage messages keep their line breaks
            let msg = e.to_string();
            let shown = match e {
                netray::Error::Usage(_) | netray::Error::Subnet(_) => {
                    netray::output::safe::esc_lines(&msg)
                }
                _ => netray::output::safe::esc(&msg),
            };
            eprintln!("netray: {shown}");
            ExitCode::from(e.exit_code())
        }
    }
}
